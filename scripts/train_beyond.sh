#!/usr/bin/env bash
# Train every model of notebook 06 and the course-protocol seed runs of notebook 04, all at once, then install
# them into data/ with their provenance. Run it as
#
#   ./course.sh train-beyond RUNS_DIR [--epochs N] [--validation-images N] [--subset N] [--backend NAME]
#                                     [--trained-by TEXT] [--no-install]
#
# Notebook 06's models (2-D autoencoder; beta = 0, 0.5, 1, 2, 4, 8 at D = 2; beta = 1 at D = 8 and 32) share
# the shipped VAE's recipe: 25 epochs, seed 0, the last 5,000 training images as validation, the best epoch
# chosen on them (--select), the test set measured once after choosing. The course protocol (all 60,000
# training images, the test set as validation, the last epoch) runs for seeds 0-2 with Keras 3's RMSprop and
# with epsilon = 1e-14 (close to Keras 2's sqrt(v) + 1e-7 rule).
#
# Meant for a machine with many cores or a GPU: the 15 runs start together (on 2 CPU cores each takes hours
# when they share them; alone, about 30 minutes). Each is an ordinary `python -m helpers.train` with the
# virtual environment's Python, its output in RUNS_DIR/logs/NAME.log, and resumable there with --resume.
# Any run that fails fails the whole command, and then nothing is installed. Keras's backend is pinned
# (--backend, default tensorflow, the course's) and recorded in every provenance. When all runs succeed,
# notebook 06's models are chosen on their validation split into $EM2VAE_DATA_DIR (default data/)/NAME/, and
# each course-protocol provenance is copied to data/course-protocol/NAME.json, all with a trained_by line.
set -euo pipefail
usage="usage: ./course.sh train-beyond RUNS_DIR [--epochs N] [--validation-images N] [--subset N] [--backend NAME] [--trained-by TEXT] [--no-install]"
py=${COURSE_PYTHON:-.venv/bin/python}      # course.sh passes its venv's Python; never python3 from PATH
runs=${1:?$usage}
shift
epochs=25 val=5000 subset=() backend=tensorflow trained_by="" install=1
while [ $# -gt 0 ]; do
    case "$1" in
        --epochs) epochs=$2; shift 2 ;;
        --validation-images) val=$2; shift 2 ;;
        --subset) subset=(--subset "$2"); shift 2 ;;
        --backend) backend=$2; shift 2 ;;
        --trained-by) trained_by=$2; shift 2 ;;
        --no-install) install=0; shift ;;
        *) echo "train-beyond: unknown option $1" >&2; echo "$usage" >&2; exit 2 ;;
    esac
done
export KERAS_BACKEND=$backend
"$py" -c "import keras; assert keras.backend.backend() == '$backend'" 2>/dev/null || {
    echo "train-beyond: Keras cannot run on the $backend backend with $py (is its package installed?)" >&2; exit 2; }
data=${EM2VAE_DATA_DIR:-data}
mkdir -p "$runs/logs"

names=() pids=()
start() {   # NAME ARGS...: one training run in the background
    local name=$1; shift
    "$py" -m helpers.train --epochs "$epochs" "${subset[@]}" "$@" --out "$runs/$name" >"$runs/logs/$name.log" 2>&1 &
    names+=("$name") pids+=($!)
}

models=(ae-mnist-2d vae-mnist-2d-beta0 vae-mnist-2d-beta0.5 vae-mnist-2d-beta1 vae-mnist-2d-beta2
        vae-mnist-2d-beta4 vae-mnist-2d-beta8 vae-mnist-8d vae-mnist-32d)
start ae-mnist-2d --autoencoder --validation-images "$val"
for beta in 0 0.5 1 2 4 8; do
    start "vae-mnist-2d-beta$beta" --beta "$beta" --validation-images "$val"
done
start vae-mnist-8d --latent-dim 8 --validation-images "$val"
start vae-mnist-32d --latent-dim 32 --validation-images "$val"
protocol=()
for seed in 0 1 2; do
    start "course-protocol-s$seed" --seed "$seed" --validation-images 0
    start "course-protocol-eps14-s$seed" --seed "$seed" --validation-images 0 --optimizer-epsilon 1e-14
    protocol+=("course-protocol-s$seed" "course-protocol-eps14-s$seed")
done
echo "train-beyond: ${#pids[@]} runs started on the $backend backend ($(date +%T)); logs in $runs/logs/"

failed=()
for i in "${!pids[@]}"; do             # wait on every run, each by its own PID, and remember who failed
    if wait "${pids[$i]}"; then
        echo "done: ${names[$i]} ($(date +%T))"
    else
        echo "FAILED: ${names[$i]} (exit $?; see $runs/logs/${names[$i]}.log)" >&2
        failed+=("${names[$i]}")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "train-beyond: ${#failed[@]} of ${#pids[@]} runs failed (${failed[*]}); nothing installed." \
         "Fix the cause and continue each with: ./course.sh train ... --resume" >&2
    exit 1
fi
[ "$install" = 1 ] || { echo "train-beyond: all runs done; not installed (--no-install)"; exit 0; }

trained_by=${trained_by:-"trained by ./course.sh train-beyond $runs --epochs $epochs --validation-images $val${subset[*]:+ ${subset[*]}}: all ${#pids[@]} runs at once on $(uname -n), $("$py" -c 'import os; print(os.cpu_count())') CPU cores, Keras $("$py" -c 'import keras; print(keras.__version__)') on the $backend backend"}
for name in "${models[@]}"; do
    "$py" -m helpers.train --select "$runs/$name" --trained-by "$trained_by" --out "$data/$name" \
        >>"$runs/logs/$name.log" 2>&1 || { echo "FAILED: selecting $name (see $runs/logs/$name.log)" >&2; exit 1; }
    echo "installed: $data/$name"
done
mkdir -p "$data/course-protocol"
for name in "${protocol[@]}"; do
    "$py" -c 'import json, sys; provenance = json.load(open(sys.argv[1]))
json.dump({"trained_by": sys.argv[2], **provenance}, open(sys.argv[3], "w"), indent=1)' \
        "$runs/$name/provenance.json" "$trained_by" "$data/course-protocol/$name.json"
    echo "installed: $data/course-protocol/$name.json"
done
