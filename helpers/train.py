"""Train the course's VAE: ``python -m helpers.train [--epochs 25] [--latent-dim 2] ...``.

The defaults are the course text's recipe: MNIST, 2-D latent space, RMSprop,
batch 128, 25 epochs, trained on the 60,000 training images and validated on
the 10,000 test images. Each epoch writes a checkpoint and the history so far;
the end of the run writes the weights (without optimizer state) and a
provenance file (command, seed, versions, machine, wall time, history).
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

from helpers import data, vae  # vae imports Keras quietly, TensorFlow backend by default

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


def train(epochs: int = 25, latent_dim: int = 2, dataset: str = "mnist", seed: int = 0,
          batch_size: int = 128, subset: int | None = None, out: Path | None = None,
          verbose: int | str = "auto") -> tuple[vae.VAE, list[dict[str, float]]]:
    """Train a VAE; return it and the per-epoch history (loss, val_loss, reconstruction, kl, ...)."""
    keras.utils.set_random_seed(seed)
    (x_train, _), (x_test, _) = DATASETS[dataset]()
    if subset is not None:
        x_train = x_train[:subset]
    x_train, x_test = vae.prepare_images(x_train), vae.prepare_images(x_test)
    model = vae.build_vae(latent_dim, seed=seed)
    recorder = EpochRecorder(out) if out is not None else None
    history = model.fit(x_train, x_train, batch_size=batch_size, epochs=epochs,
                        validation_data=(x_test, x_test), shuffle=True, verbose=verbose,
                        callbacks=[recorder] if recorder else [])
    rows = recorder.history if recorder else [
        {"epoch": i + 1, **{k: float(v[i]) for k, v in history.history.items()}} for i in range(epochs)]
    return model, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.train", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="mnist")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--subset", type=int, default=None, help="train on the first N images only")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: runs/<dataset>-d<latent>-s<seed>)")
    args = parser.parse_args(argv)
    out = args.out or Path("runs") / f"{args.dataset}-d{args.latent_dim}-s{args.seed}"
    out.mkdir(parents=True, exist_ok=True)

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    model, history = train(args.epochs, args.latent_dim, args.dataset, args.seed, args.batch_size,
                           args.subset, out, verbose=1 if sys.stdout.isatty() else 2)
    wall = time.perf_counter() - t0
    vae.save_inference_weights(model, out / "vae.weights.h5")
    provenance = {
        "command": "python -m helpers.train " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])),
        "recipe": {"dataset": args.dataset, "latent_dim": args.latent_dim, "epochs": args.epochs,
                   "batch_size": args.batch_size, "optimizer": "RMSprop (Keras defaults)",
                   "seed": args.seed, "train_images": 60000 if args.subset is None else args.subset,
                   "validation": "the 10,000 test images"},
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
