#!/usr/bin/env bash
# Train every model of notebook 06 and the course-protocol seed runs of notebook 04, all at once.
# Meant for a machine with a GPU (many small runs share it); each run is an ordinary
# `python -m helpers.train` and can be resumed with --resume. Usage:
#
#   scripts/train_beyond.sh RUNS_DIR [EPOCHS [VALIDATION_IMAGES [SUBSET]]]
#
# Notebook 06's models (2-D autoencoder, beta = 0.5, 1, 2, 4, 8 at D = 2, beta = 1 at D = 8 and 32)
# share the shipped VAE's recipe: 25 epochs, seed 0, the last 5,000 training images as validation,
# the best epoch chosen on them (--select), the test set measured once after choosing. The course
# protocol (all 60,000 training images, the test set as validation, the last epoch) runs for seeds
# 0-2 with Keras 3's RMSprop and with epsilon = 1e-14 (close to Keras 2's sqrt(v) + 1e-7 rule).
set -uo pipefail
runs=${1:?usage: scripts/train_beyond.sh RUNS_DIR [EPOCHS [VALIDATION_IMAGES [SUBSET]]]}
epochs=${2:-25}
val=${3:-5000}
subset=${4:+--subset $4}
py=${PYTHON:-python3}
mkdir -p "$runs/logs"

train() {   # NAME ARGS...: train, then choose the epoch on validation when the run has a validation split
    local name=$1; shift
    $py -m helpers.train --epochs "$epochs" $subset "$@" --out "$runs/$name" >"$runs/logs/$name.log" 2>&1 || {
        echo "FAILED: $name (see $runs/logs/$name.log)"; return 1; }
    case " $* " in
        *" --validation-images 0 "*) ;;
        *) $py -m helpers.train --select "$runs/$name" --out "$runs/chosen/$name" >>"$runs/logs/$name.log" 2>&1 ||
               echo "FAILED: selecting $name" ;;
    esac
    echo "done: $name ($(date +%T))"
}

train ae-mnist-2d          --autoencoder --validation-images "$val" &
for beta in 0.5 1 2 4 8; do
    train "vae-mnist-2d-beta$beta" --beta "$beta" --validation-images "$val" &
done
train vae-mnist-8d         --latent-dim 8 --validation-images "$val" &
train vae-mnist-32d        --latent-dim 32 --validation-images "$val" &
for seed in 0 1 2; do
    train "course-protocol-s$seed"       --seed "$seed" --validation-images 0 &
    train "course-protocol-eps14-s$seed" --seed "$seed" --validation-images 0 --optimizer-epsilon 1e-14 &
done
wait
