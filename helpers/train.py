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

Beyond the course (notebook 06): ``--beta B`` weights the KL term (a beta-VAE),
``--autoencoder`` trains the plain autoencoder on the same networks (no q, no KL),
``--optimizer-epsilon E`` sets RMSprop's epsilon. ``--resume`` continues an
interrupted run from its last per-epoch checkpoint (weights and optimizer state;
the order of the shuffled batches is not restored, so a resumed run is a valid run
of the recipe but not bit-identical to an uninterrupted one).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from helpers import data, vae, vae_evaluation
from helpers.backend import keras


class EpochRecorder(keras.callbacks.Callback):
    """Writes history.json and a checkpoint (weights and optimizer state) after every epoch."""

    def __init__(self, out: Path, history: list[dict[str, float]] | None = None):
        super().__init__()
        self.out = out
        self.history: list[dict[str, float]] = list(history or [])
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


def accelerator() -> str | None:
    """The GPU the run used, as nvidia-smi names it, or None on a CPU-only machine."""
    import shutil
    import subprocess

    if not shutil.which("nvidia-smi"):
        return None
    result = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                            capture_output=True, text=True, check=False)
    return result.stdout.strip().splitlines()[0] if result.returncode == 0 and result.stdout.strip() else None


def machine_description() -> dict[str, str | int | None]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "accelerator": accelerator(),
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


def split_training_images(x_train, validation_images: int, subset: int | None = None):
    """The first n - N training images for fitting and the last N as a validation split: (fit, validation).

    With ``subset`` the run uses only the first ``subset`` training images, and the split is made inside them.
    """
    if subset is not None:
        x_train = x_train[:subset]
    if not 0 <= validation_images < len(x_train):
        raise ValueError(f"validation_images must be in [0, {len(x_train)}), got {validation_images}")
    cut = len(x_train) - validation_images
    return x_train[:cut], x_train[cut:]


def validation_images_of(recipe: dict):
    """The validation images a run was scored on, from its provenance recipe: float32 (N, 28, 28, 1)."""
    n_val = recipe.get("validation_images", 0)
    if not n_val:
        raise ValueError("this run was validated on the test set; select only among runs trained with "
                         "--validation-images N (python -m helpers.train --validation-images 5000 ...)")
    (x_train, _), _ = data.load(recipe["dataset"])
    return vae.prepare_images(split_training_images(x_train, n_val, recipe.get("subset"))[1])


def objective(model, x, seed: int = 0) -> dict[str, float]:
    """The training objective per image, recomputed: reconstruction, KL (0 for an autoencoder) and ``loss``.

    ``loss`` is reconstruction + beta * KL for a VAE (the -ELBO when beta = 1), reconstruction alone for
    an autoencoder, and ``neg_elbo`` the -ELBO (reconstruction + KL; absent for an autoencoder).
    """
    if isinstance(model, vae.Autoencoder):
        reconstruction = vae_evaluation.reconstruction_nll(model, x)
        return {"reconstruction": reconstruction, "kl": 0.0, "loss": reconstruction}
    terms = vae_evaluation.negative_elbo(model, x, seed=seed)
    return {**terms, "neg_elbo": terms["loss"], "loss": terms["reconstruction"] + model.beta * terms["kl"]}


def train(epochs: int = 25, latent_dim: int = 2, dataset: str = "mnist", seed: int = 0,
          batch_size: int = 128, subset: int | None = None, out: Path | None = None,
          verbose: int | str = "auto", validation_images: int = 0, kind: str = "vae", beta: float = 1.0,
          optimizer_epsilon: float | None = None, resume: bool = False, loss_fn: Callable | None = None
          ) -> tuple[vae.VAE | vae.Autoencoder, list[dict[str, float]]]:
    """Train a VAE (or the plain autoencoder); return it and the per-epoch history (loss, val_loss, ...).

    ``validation_images`` = 0 validates on the test set, as the course text does; N > 0 validates on
    the last N training images instead (and fits on the rest), so the test set stays unseen.
    ``resume`` continues from the last checkpoint in ``out`` (weights, optimizer state and history).
    ``loss_fn``: the VAE's per-image loss (x, logits, t_mean, log_var) -> (B,), by default
    :func:`vae.negative_elbo_per_image` (eqs. 16-17); see :class:`vae.VAE`.
    """
    keras.utils.set_random_seed(seed)
    (x_train, _), (x_test, _) = data.load(dataset)
    x_train, x_val = split_training_images(x_train, validation_images, subset)
    if not validation_images:
        x_val = x_test
    x_train, x_val = vae.prepare_images(x_train), vae.prepare_images(x_val)
    model = vae.build_model(kind, latent_dim, beta=beta, seed=seed, optimizer_epsilon=optimizer_epsilon,
                            loss_fn=loss_fn)
    done, history = 0, []
    checkpoints = sorted((out / "checkpoints").glob("epoch-*.weights.h5")) if resume and out is not None else []
    if checkpoints:                      # a checkpoint of a compiled model holds the optimizer's state too
        done = int(checkpoints[-1].name.split("-")[1].split(".")[0])
        model.optimizer.build(model.trainable_variables)
        model.load_weights(checkpoints[-1])
        history = json.loads((out / "history.json").read_text())[:done]
        print(f"resuming after epoch {done} from {checkpoints[-1]}")
    if done >= epochs:
        return model, history
    recorder = EpochRecorder(out, history) if out is not None else None
    fitted = model.fit(x_train, x_train, batch_size=batch_size, epochs=epochs, initial_epoch=done,
                       validation_data=(x_val, x_val), shuffle=True, verbose=verbose,
                       callbacks=[recorder] if recorder else [])
    rows = recorder.history if recorder else [
        {"epoch": i + 1, **{k: float(v[i]) for k, v in fitted.history.items()}} for i in range(epochs)]
    return model, rows


def loss_curve(x, loss_fn: Callable | None = None, batch_size: int = 128, seed: int = 0) -> dict[str, np.ndarray]:
    """One epoch of the course's VAE on ``x`` (n, 28, 28, 1), batch by batch: each (n // batch_size,), nats per image.

    ``loss``: the batch mean of ``loss_fn`` (eqs. 16-17 per image, :func:`vae.negative_elbo_per_image` when None),
    what the batch's gradient step minimises, at the weights before that step. ``reconstruction`` and ``kl``: the
    course's two terms (eqs. 16, 17) on the same forward pass (same weights, batch and noise eps), so
    ``loss - (reconstruction + kl)`` compares ``loss_fn`` with the -ELBO on exactly what training fed it.
    The batches are x's consecutive slices, in order (a last partial batch is left out), and ``seed`` fixes the
    initial weights and the noise of every step, so two calls with the same x and seed differ only by their loss.
    """
    keras.utils.set_random_seed(seed)
    model = vae.build_vae(seed=seed, loss_fn=loss_fn)
    rows = []
    for start in range(0, len(x) - batch_size + 1, batch_size):
        batch = x[start:start + batch_size]
        rows.append(model.train_on_batch(batch, batch, return_dict=True))      # metrics reset for each batch
    return {key: np.array([row[key] for row in rows]) for key in ("loss", "reconstruction", "kl")}


def select_checkpoint(runs: list[Path]) -> dict:
    """Evaluate every epoch checkpoint of ``runs`` on their validation split; return the best.

    Each checkpoint's training objective per image (:func:`objective`: the -ELBO for a VAE with beta = 1)
    is recomputed (seed 0) on the validation images recorded in the run's provenance (its subset too);
    the test set is never looked at here. Returns {"run", "seed", "epoch", "weights", "validation_loss", "table"}.
    """
    table, best, kinds = [], None, set()
    for run in runs:
        recipe = json.loads((run / "provenance.json").read_text())["recipe"]
        try:
            x_val = validation_images_of(recipe)
        except ValueError as exc:
            raise ValueError(f"{run}: {exc}") from exc
        kind, beta = recipe.get("kind", "vae"), recipe.get("beta", 1.0)   # older recipes: a β = 1 VAE
        kinds.add((kind, recipe["latent_dim"], beta))
        if len(kinds) > 1:
            raise ValueError(f"runs of different models cannot be compared: {sorted(kinds)}")
        for checkpoint in sorted((run / "checkpoints").glob("epoch-*.weights.h5")):
            model = vae.load_model(checkpoint, latent_dim=recipe["latent_dim"], kind=kind, beta=beta)
            loss = objective(model, x_val)["loss"]
            epoch = int(checkpoint.name.split("-")[1].split(".")[0])
            row = {"run": str(run), "seed": recipe["seed"], "epoch": epoch, "validation_loss": round(loss, 3)}
            table.append(row)
            if best is None or loss < best["validation_loss"]:
                best = {**row, "validation_loss": loss, "weights": checkpoint}
    if best is None:
        raise FileNotFoundError(f"no checkpoints found under {[str(r) for r in runs]}")
    return {**best, "table": table}


def _history(run: Path, provenance: dict) -> list[dict]:
    """A run's per-epoch history: from its provenance when it finished, else (still training) from history.json."""
    if "history" in provenance:
        return provenance["history"]
    path = run / "history.json"
    return json.loads(path.read_text()) if path.exists() else []


def _select_main(args) -> int:
    choice = select_checkpoint(args.select)
    source = json.loads((Path(choice["run"]) / "provenance.json").read_text())
    recipe = source["recipe"]
    model = vae.load_model(choice["weights"], latent_dim=recipe["latent_dim"], kind=recipe.get("kind", "vae"),
                           beta=recipe.get("beta", 1.0))
    _, (x_test, _) = data.load(recipe["dataset"])
    test = objective(model, vae.prepare_images(x_test))   # measured once, after choosing
    args.out.mkdir(parents=True, exist_ok=True)
    vae.save_inference_weights(model, args.out / "vae.weights.h5")
    provenance = {
        **({"trained_by": args.trained_by} if args.trained_by else {}),
        **source,
        "selection": {
            "command": "python -m helpers.train " + " ".join(shlex.quote(a) for a in args.argv),
            "rule": "lowest training objective per image (reconstruction + beta * KL, one sample of t each, "
                    "seed 0; reconstruction alone for an autoencoder) on the run's validation split, over every "
                    "(seed, epoch) checkpoint; the test set was evaluated once, after choosing",
            "chosen": {"run": choice["run"], "seed": choice["seed"], "epoch": choice["epoch"],
                       "validation_loss": round(choice["validation_loss"], 3)},
            "test_loss": {k: round(v, 3) for k, v in test.items()},
            "table": choice["table"],
        },
        "history": _history(Path(choice["run"]), source),
    }
    (args.out / "provenance.json").write_text(json.dumps(provenance, indent=1))
    if source.get("in_progress"):
        print(f"note: {choice['run']} is still training: this choice is provisional (its provenance says "
              "in_progress: true); select again when the run has finished")
    print(f"chose seed {choice['seed']} epoch {choice['epoch']} (validation {choice['validation_loss']:.2f}); "
          f"test objective {test['loss']:.2f} per image -> {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m helpers.train", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument("--dataset", choices=sorted(data.DATASETS), default="mnist")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--subset", type=int, default=None, help="train on the first N images only")
    parser.add_argument("--validation-images", type=int, default=0,
                        help="validate on the last N training images instead of the test set")
    parser.add_argument("--beta", type=float, default=1.0, help="weight of the KL term (1: the ELBO)")
    parser.add_argument("--autoencoder", action="store_true", help="train the plain autoencoder (no q, no KL)")
    parser.add_argument("--optimizer-epsilon", type=float, default=None,
                        help="RMSprop's epsilon (Keras default 1e-7, inside the square root)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run in --out from its last per-epoch checkpoint")
    parser.add_argument("--select", type=Path, nargs="+", default=None, metavar="RUN",
                        help="choose the best checkpoint of these runs on their validation split, save it to --out")
    parser.add_argument("--trained-by", default=None, metavar="TEXT",
                        help="with --select: where and how the runs were trained (machine, backend, script), "
                             "recorded as trained_by in the chosen model's provenance.json")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: runs/<dataset>-d<latent>-s<seed>)")
    args = parser.parse_args(argv)
    args.argv = argv
    if args.trained_by and not args.select:
        parser.error("--trained-by goes with --select (a training run records its own machine and packages)")
    if args.select:
        if args.out is None:
            parser.error("--select needs --out")
        return _select_main(args)
    kind = "autoencoder" if args.autoencoder else "vae"
    out = args.out or Path("runs") / f"{args.dataset}-{kind}-d{args.latent_dim}-s{args.seed}"
    out.mkdir(parents=True, exist_ok=True)
    previous = json.loads((out / "provenance.json").read_text()) if (out / "provenance.json").exists() else {}

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    n_train = (60000 if args.subset is None else args.subset) - args.validation_images
    optimizer = ("RMSprop (Keras defaults)" if args.optimizer_epsilon is None
                 else f"RMSprop (Keras defaults, epsilon={args.optimizer_epsilon:g})")
    provenance = {
        "command": "python -m helpers.train " + " ".join(shlex.quote(a) for a in argv),
        "recipe": {"dataset": args.dataset, "kind": kind, "latent_dim": args.latent_dim, "beta": args.beta,
                   "epochs": args.epochs, "batch_size": args.batch_size, "optimizer": optimizer,
                   "seed": args.seed, "subset": args.subset, "train_images": n_train,
                   "validation_images": args.validation_images,
                   "validation": (f"the last {args.validation_images} training images" if args.validation_images
                                  else "the 10,000 test images")},
        "started_utc": previous.get("started_utc", started.isoformat(timespec="seconds")) if args.resume
        else started.isoformat(timespec="seconds"),
        "in_progress": True,
    }
    (out / "provenance.json").write_text(json.dumps(provenance, indent=1))   # the recipe, for --resume
    model, history = train(args.epochs, args.latent_dim, args.dataset, args.seed, args.batch_size,
                           args.subset, out, verbose=1 if sys.stdout.isatty() else 2,
                           validation_images=args.validation_images, kind=kind, beta=args.beta,
                           optimizer_epsilon=args.optimizer_epsilon, resume=args.resume)
    wall = time.perf_counter() - t0
    vae.save_inference_weights(model, out / "vae.weights.h5")
    provenance.update({
        "in_progress": False,
        "wall_seconds": round(wall, 1),      # this process; a resumed run's earlier epochs are in the history
        "epoch_seconds_total": round(sum(row["seconds"] for row in history), 1),
        "machine": machine_description(),
        "packages": package_versions(),
        "history": history,
    })
    (out / "provenance.json").write_text(json.dumps(provenance, indent=1))
    last = history[-1]
    print(f"done in {wall:.0f} s: loss {last['loss']:.2f}, val_loss {last['val_loss']:.2f} -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
