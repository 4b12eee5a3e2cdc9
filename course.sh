#!/usr/bin/env bash
# The course's one entry point. Every command first makes sure the set-up is done
# (a virtual environment in .venv with the pinned packages, the helpers package
# installed editable, MNIST fetched and verified); that step is quick when nothing changed.
#
#   ./course.sh lab        set up, then open JupyterLab on notebooks/
#   ./course.sh test       set up, then lint and run the whole test suite in fast mode, on two workers
#                          (pytest options go after it, e.g. ./course.sh test -n 0 -k gmm for one process)
#   ./course.sh setup      only the set-up
#   ./course.sh notebooks  re-execute every notebook in full mode, in a fresh kernel, in place
#   ./course.sh student    regenerate the student notebooks (blanks + otter checks) in notebooks/student/
#   ./course.sh bench      run every benchmark in benchmarks/ with its defaults
#   ./course.sh bench NAME [ARGS]  run one (gmm, vae_training, explorer) with its own options
#   ./course.sh train ...  train the VAE (arguments go to python -m helpers.train)
#   ./course.sh train-beyond RUNS [OPTIONS]  train notebook 06's models and 04's course-protocol runs at once,
#                          fail if any run fails, install them into data/ (scripts/train_beyond.sh has the options)
#   ./course.sh present    open notebook 05's latent explorer as a code-free Voila app
#   ./course.sh book       build the course website into _build/html (Sphinx, offline, nothing executed)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv
PY=$VENV/bin/python

python_version() {   # "3.11.9", or nothing when the interpreter is missing or broken
    "$1" -c 'import sys; print(*sys.version_info[:3], sep=".")' 2>/dev/null || true
}

check_python() {     # $1: an interpreter, $2: what it is; run on every set-up, not only when .venv is made
    local version
    version=$(python_version "$1")
    case "$version" in
        3.1[1-9].*|3.[2-9][0-9].*|[4-9].*) ;;
        *)  echo "course: Python 3.11 or newer is needed; $2 ($1) is ${version:-missing or broken}." >&2
            echo "        Remove .venv and run again with a newer Python, e.g. PYTHON=python3.11 ./course.sh setup" >&2
            exit 1 ;;
    esac
}

setup() {
    if [ -z "$(python_version "$PY")" ]; then
        # No venv yet, or its Python broke (removed, upgraded away): make it anew. --clear empties it first,
        # so no packages built for the old Python and no install stamp survive to skip the install below.
        check_python "$PYTHON" "PYTHON"
        "$PYTHON" -m venv --clear "$VENV"
    fi
    check_python "$PY" "the virtual environment's Python"
    # The stamp records what was installed, and for which Python: a change to either reinstalls.
    local stamp=$VENV/.course-installed want
    want=$({ cat requirements.txt pyproject.toml; python_version "$PY"; } | sha256sum)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "course: installing the pinned packages into $VENV (first time: about a minute) ..."
        "$PY" -m pip install --disable-pip-version-check -q -r requirements.txt
        "$PY" -m pip install --disable-pip-version-check -q --no-deps -e .
        echo "$want" > "$stamp"
    fi
    "$PY" -m helpers.data fetch mnist
}

cmd=${1:-lab}
[ $# -gt 0 ] && shift
case "$cmd" in
    setup)
        setup ;;
    lab)
        setup
        as_root=()
        [ "$(id -u)" = 0 ] && as_root=(--allow-root)   # containers and CI machines run as root
        exec "$VENV/bin/jupyter" lab notebooks/ "${as_root[@]}" "$@" ;;
    test)
        setup
        export EM2VAE_FAST=1
        "$VENV/bin/ruff" check helpers tests notebooks benchmarks scripts conftest.py
        # Two workers (pytest-xdist); --dist loadfile keeps each test file and each notebook (its cells share
        # one kernel) on one worker, started in conftest.py's order (the longest first). -rs prints why anything
        # was skipped, e.g. the browser test without Chromium.
        exec "$PY" -m pytest tests notebooks --nbval-lax --nbval-current-env \
            --nbval-cell-timeout=600 -n 2 --dist loadfile --no-loadscope-reorder -rs "$@" ;;
    notebooks)
        setup
        unset EM2VAE_FAST
        exec "$PY" scripts/execute_notebooks.py "$@" ;;
    student)
        setup
        exec "$PY" scripts/make_student_notebooks.py "$@" ;;
    bench)
        setup
        if [ $# -eq 0 ]; then
            for script in benchmarks/bench_*.py; do "$PY" "$script"; done
        elif [ -f "benchmarks/bench_$1.py" ]; then
            script=benchmarks/bench_$1.py; shift
            exec "$PY" "$script" "$@"
        else
            names=$(cd benchmarks && ls bench_*.py | sed 's/^bench_//; s/\.py$//' | tr '\n' ' ')
            echo "course: './course.sh bench' takes a benchmark's name before its options: one of: $names" >&2
            echo "        e.g. ./course.sh bench vae_training --rounds 5   (each script's --help lists its options)" >&2
            exit 2
        fi ;;
    train)
        setup
        exec "$PY" -m helpers.train "$@" ;;
    train-beyond)
        setup
        COURSE_PYTHON=$PY exec bash scripts/train_beyond.sh "$@" ;;
    present)
        setup
        exec "$VENV/bin/voila" notebooks/05_latent_space.ipynb "$@" ;;
    book)
        setup
        exec "$PY" scripts/build_book.py "$@" ;;
    *)
        echo "usage: ./course.sh [lab|test|setup|notebooks|student|bench|train|train-beyond|present|book]" >&2
        exit 2 ;;
esac
