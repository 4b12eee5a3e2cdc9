"""Train the course's VAE: ``python -m helpers.train [--epochs 25] [--latent-dim 2] ...``.

The defaults are the course text's recipe: MNIST, 2-D latent space, RMSprop,
batch 128, 25 epochs, trained on the 60,000 training images and validated on
the 10,000 test images. Each epoch writes a checkpoint and the history so far;
the end of the run writes the weights (without optimizer state) and a
provenance file (command, seed, versions, machine, wall time, history).

Choosing a model honestly: ``--validation-images N`` carves the last N training
images off as a validation split (training then uses the first 60,000 - N), and

    python -m helpers.train --select RUN [RUN ...] --out data/vae-mnist-2d

evaluates every epoch checkpoint of those runs on that validation split only,
keeps the best (seed, epoch), and only then measures it once on the test set.
The selection table and the test loss go into ``provenance.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from helpers import data, vae, vae_evaluation  # vae imports Keras quietly, TensorFlow backend by default

keras = vae.keras

DATASETS = {"mnist": data.load_mnist, "fashion": data.load_fashion_mnist}


class EpochRecorder(keras.callbacks.Callback):
    """Writes history.json and a weights checkpoint after every epoch."""

    def __init__(self, out: Path):
        super().__init__()
        self.out = out
        self.history: list[dict[str, float]] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, "seconds": round(time.perf_counter() - self._start, 2)}
        row.update({k: float(v) for k, v in (logs or {}).items()})
        self.history.append(row)
        (self.out / "history.json").write_text(json.dumps(self.history, indent=1))
        ckpt = self.out / "checkpoints"
        ckpt.mkdir(exist_ok=True)
        self.model.save_weights(ckpt / f"epoch-{epoch + 1:02d}.weights.h5")


def machine_description() -> dict[str, str | int | None]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("numpy", "keras", "tensorflow-cpu", "tensorflow", "jax", "torch"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    out["keras_backend"] = keras.backend.backend()
    return out


def split_training_images(x_train, validation_images: int):
    """The first n - N training images for fitting and the last N as a validation split: (fit, validation)."""
    if not 0 <= validation_images < len(x_train):
        raise ValueError(f"validation_images must be in [0, {len(x_train)}), got {validation_images}")
    cut = len(x_train) - validation_images
    return x_train[:cut], x_train[cut:]


def train(epochs: int = 25, latent_dim: int = 2, dataset: str = "mnist", seed: int = 0,
          batch_size: int = 128, subset: int | None = None, out: Path | None = None,
          verbose: int | str = "auto", validation_images: int = 0) -> tuple[vae.VAE, list[dict[str, float]]]:
    """Train a VAE; return it and the per-epoch history (loss, val_loss, reconstruction, kl, ...).

    ``validation_images`` = 0 validates on the test set, as the course text does; N > 0 validates on
    the last N training images instead (and fits on the rest), so the test set stays unseen.
    """
    keras.utils.set_random_seed(seed)
    (x_train, _), (x_test, _) = DATASETS[dataset]()
    if subset is not None:
        x_train = x_train[:subset]
    if validation_images:
        x_train, x_val = split_training_images(x_train, validation_images)
    else:
        x_val = x_test
    x_train, x_val = vae.prepare_images(x_train), vae.prepare_images(x_val)
    model = vae.build_vae(latent_dim, seed=seed)
    recorder = EpochRecorder(out) if out is not None else None
    history = model.fit(x_train, x_train, batch_size=batch_size, epochs=epochs,
                        validation_data=(x_val, x_val), shuffle=True, verbose=verbose,
                        callbacks=[recorder] if recorder else [])
    rows = recorder.history if recorder else [
        {"epoch": i + 1, **{k: float(v[i]) for k, v in history.history.items()}} for i in range(epochs)]
    return model, rows


def select_checkpoint(runs: list[Path], latent_dim: int = 2) -> dict:
    """Evaluate every epoch checkpoint of ``runs`` on their validation split; return the best.

    Each checkpoint's -ELBO per image is recomputed with :func:`vae_evaluation.negative_elbo` (seed 0) on the
    validation images recorded in the run's provenance; the test set is never looked at here.
    Returns {"run", "seed", "epoch", "weights", "validation_loss", "table"}.
    """
    table, best = [], None
    for run in runs:
        recipe = json.loads((run / "provenance.json").read_text())["recipe"]
        n_val = recipe.get("validation_images", 0)
        if not n_val:
            raise ValueError(f"{run} was validated on the test set; select only among runs trained with "
                             f"--validation-images N (python -m helpers.train --validation-images 5000 ...)")
        (x_train, _), _ = DATASETS[recipe["dataset"]]()
        x_val = vae.prepare_images(split_training_images(x_train, n_val)[1])
        for checkpoint in sorted((run / "checkpoints").glob("epoch-*.weights.h5")):
            model = vae.load_trained_vae(checkpoint, latent_dim)
            loss = vae_evaluation.negative_elbo(model, x_val, seed=0)["loss"]
            epoch = int(checkpoint.name.split("-")[1].split(".")[0])
            row = {"run": str(run), "seed": recipe["seed"], "epoch": epoch, "validation_loss": round(loss, 3)}
            table.append(row)
            if best is None or loss < best["validation_loss"]:
                best = {**row, "validation_loss": loss, "weights": checkpoint}
    if best is None:
        raise FileNotFoundError(f"no checkpoints found under {[str(r) for r in runs]}")
    return {**best, "table": table}


def _select_main(args) -> int:
    choice = select_checkpoint(args.select, args.latent_dim)
    model = vae.load_trained_vae(choice["weights"], args.latent_dim)
    source = json.loads((Path(choice["run"]) / "provenance.json").read_text())
    _, (x_test, _) = DATASETS[source["recipe"]["dataset"]]()
    test = vae_evaluation.negative_elbo(model, vae.prepare_images(x_test), seed=0)   # measured once, after choosing
    args.out.mkdir(parents=True, exist_ok=True)
    vae.save_inference_weights(model, args.out / "vae.weights.h5")
    provenance = {
        **source,
        "selection": {
            "command": "python -m helpers.train " + " ".join(shlex.quote(a) for a in args.argv),
            "rule": "lowest -ELBO per image (one sample of t each, seed 0) on the run's validation split, "
                    "over every (seed, epoch) checkpoint; the test set was evaluated once, after choosing",
            "chosen": {"run": choice["run"], "seed": choice["seed"], "epoch": choice["epoch"],
                       "validation_loss": round(choice["validation_loss"], 3)},
            "test_loss": {k: round(v, 3) for k, v in test.items()},
            "table": choice["table"],
        },
        "history": source["history"],
    }
    (args.out / "provenance.json").write_text(json.dumps(provenance, indent=1))
    print(f"chose seed {choice['seed']} epoch {choice['epoch']} (validation {choice['validation_loss']:.2f}); "
          f"test -ELBO {test['loss']:.2f} per image -> {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m helpers.train", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="mnist")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--subset", type=int, default=None, help="train on the first N images only")
    parser.add_argument("--validation-images", type=int, default=0,
                        help="validate on the last N training images instead of the test set")
    parser.add_argument("--select", type=Path, nargs="+", default=None, metavar="RUN",
                        help="choose the best checkpoint of these runs on their validation split, save it to --out")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: runs/<dataset>-d<latent>-s<seed>)")
    args = parser.parse_args(argv)
    args.argv = argv
    if args.select:
        if args.out is None:
            parser.error("--select needs --out")
        return _select_main(args)
    out = args.out or Path("runs") / f"{args.dataset}-d{args.latent_dim}-s{args.seed}"
    out.mkdir(parents=True, exist_ok=True)

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    model, history = train(args.epochs, args.latent_dim, args.dataset, args.seed, args.batch_size,
                           args.subset, out, verbose=1 if sys.stdout.isatty() else 2,
                           validation_images=args.validation_images)
    wall = time.perf_counter() - t0
    vae.save_inference_weights(model, out / "vae.weights.h5")
    n_train = (60000 if args.subset is None else args.subset) - args.validation_images
    provenance = {
        "command": "python -m helpers.train " + " ".join(shlex.quote(a) for a in argv),
        "recipe": {"dataset": args.dataset, "latent_dim": args.latent_dim, "epochs": args.epochs,
                   "batch_size": args.batch_size, "optimizer": "RMSprop (Keras defaults)",
                   "seed": args.seed, "train_images": n_train, "validation_images": args.validation_images,
                   "validation": (f"the last {args.validation_images} training images" if args.validation_images
                                  else "the 10,000 test images")},
        "started_utc": started.isoformat(timespec="seconds"),
        "wall_seconds": round(wall, 1),
        "machine": machine_description(),
        "packages": package_versions(),
        "history": history,
    }
    (out / "provenance.json").write_text(json.dumps(provenance, indent=1))
    last = history[-1]
    print(f"done in {wall:.0f} s: loss {last['loss']:.2f}, val_loss {last['val_loss']:.2f} -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
