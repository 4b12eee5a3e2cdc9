#!/usr/bin/env bash
# The course's one entry point. Every command first makes sure the set-up is done
# (a virtual environment in .venv with the pinned packages, the helpers package
# installed editable, MNIST fetched and verified); that step is quick when nothing changed.
#
#   ./course.sh lab        set up, then open JupyterLab on notebooks/
#   ./course.sh test       set up, then lint and run the whole test suite in fast mode, on two workers
#   ./course.sh test --quick   lint and the unit tests only (no notebooks, browsers, otter, hub or training)
#                          (pytest options go after it, e.g. ./course.sh test -n 0 -k gmm for one process)
#   ./course.sh setup      only the set-up
#   ./course.sh notebooks  re-execute every notebook in full mode, in a fresh kernel, in place
#   ./course.sh student    regenerate the student notebooks (blanks + otter checks) in notebooks/student/,
#                          and otter's autograder zip of each in build/autograder/
#   ./course.sh grade SUBMISSIONS... [--out DIR] [--jobs N] [--timeout SECONDS] [--full]
#                          grade a class with otter run: grades.csv, feedback/, slips.csv, slips.png in DIR
#   ./course.sh bench      run every benchmark in benchmarks/ with its defaults
#   ./course.sh bench NAME [ARGS]  run one (gmm, vae_training, explorer, grade) with its own options
#   ./course.sh train ...  train the VAE (arguments go to python -m helpers.train)
#   ./course.sh present NN open notebook NN (01-06) in JupyterLab with its live slideshow beside it (RISE)
#   ./course.sh present explorer  open notebook 05's latent explorer as a code-free Voila app
#   ./course.sh train-beyond RUNS [OPTIONS]  train notebook 06's models and 04's course-protocol runs at once,
#                          fail if any run fails, install them into data/ (scripts/train_beyond.sh has the options)
#   ./course.sh book       build the course website into _build/html (Sphinx, offline, nothing executed)
#   ./course.sh hub-links HUB_URL [REPO_URL] [BRANCH]  print one nbgitpuller link per student notebook (hub/)
set -euo pipefail
CALLER_DIR=$PWD     # ./course.sh grade reads its paths from where it was called
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
    setup_hub_proxy
    slides_setup
}

setup_hub_proxy() {  # JupyterHub's proxy for tests/test_hub.py, pinned by hub/proxy/package-lock.json (npm ci)
    [ -f hub/proxy/package-lock.json ] || return 0
    command -v npm >/dev/null || return 0     # without Node.js the hub test says loudly that it is skipped
    local stamp=hub/proxy/node_modules/.course-installed want
    want=$(sha256sum < hub/proxy/package-lock.json)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "course: installing JupyterHub's proxy (npm's configurable-http-proxy) into hub/proxy ..."
        if npm ci --prefix hub/proxy --no-audit --no-fund --loglevel=error; then
            echo "$want" > "$stamp"
        else
            echo "course: WARNING: npm could not install configurable-http-proxy: tests/test_hub.py will be skipped." >&2
        fi
    fi
}

# reveal.js and require.js for the website's static slides: npm packages pinned in book/slides/package-lock.json,
# installed into book/slides/node_modules (git-ignored). Without npm the rest of the course works; the book says so.
slides_setup() {
    local lock=book/slides/package-lock.json stamp=book/slides/node_modules/.course-installed want
    [ -f "$lock" ] || return 0          # a copy of the course without its website
    want=$(sha256sum < "$lock")
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
    if ! command -v npm >/dev/null; then
        echo "course: npm not found: the website's slides (./course.sh book) need it to install reveal.js" >&2
        echo "        (Debian: sudo apt-get install npm); everything else works without it." >&2
        return 0
    fi
    echo "course: installing reveal.js for the slides into book/slides/node_modules (npm ci) ..."
    (cd book/slides && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want" > "$stamp"
}

present_usage() {
    echo "usage: ./course.sh present NN        notebook NN ($(cd notebooks && ls [0-9][0-9]_*.ipynb | cut -c1-2 | paste -sd ' ')) as live slides in JupyterLab (RISE)" >&2
    echo "       ./course.sh present explorer  notebook 05's latent explorer alone, as a code-free app (Voila)" >&2
    exit 2
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
        # What to collect: everything (tests and notebooks); with --quick only tests/, where conftest.py leaves out
        # notebooks, browsers, otter, hubs and training; and only the paths named, when some are (tests/test_gmm.py).
        targets=(tests notebooks)
        for arg in "$@"; do
            case "$arg" in
                --quick) targets=(tests) ;;
                -*) ;;
                *) if [ -e "${arg%%::*}" ]; then targets=(); break; fi ;;
            esac
        done
        # Two workers (pytest-xdist); --dist loadfile keeps each test file and each notebook (its cells share
        # one kernel) on one worker, started in conftest.py's order (the longest first). -rs prints why anything
        # was skipped, e.g. the browser test without Chromium.
        exec "$PY" -m pytest "${targets[@]}" --nbval-lax --nbval-current-env \
            --nbval-cell-timeout=600 -n 2 --dist loadfile --no-loadscope-reorder -rs "$@" ;;
    notebooks)
        setup
        unset EM2VAE_FAST
        exec "$PY" scripts/execute_notebooks.py "$@" ;;
    student)
        setup
        exec "$PY" scripts/make_student_notebooks.py "$@" ;;
    grade)
        setup
        project=$PWD
        cd "$CALLER_DIR"
        exec "$project/$PY" -m helpers.grade_class "$@" ;;
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
        [ $# -gt 0 ] || present_usage
        what=$1; shift
        if [ "$what" = explorer ]; then
            setup
            exec "$VENV/bin/voila" notebooks/05_latent_space.ipynb "$@"
        fi
        notebook=$(cd notebooks && ls "$what"_*.ipynb 2>/dev/null | head -n 1 || true)
        { [[ "$what" =~ ^[0-9][0-9]$ ]] && [ -n "$notebook" ]; } || present_usage
        setup
        as_root=()
        [ "$(id -u)" = 0 ] && as_root=(--allow-root)
        # JupyterLab on the notebook with RISE set to open the slideshow beside it at once (these settings are used
        # only here, not by ./course.sh lab). The slides share the notebook's kernel, so Run All in the notebook
        # first: RISE never runs the cells a slideshow skips (the exercises' solutions).
        settings=$VENV/present-settings/jupyterlab-rise
        mkdir -p "$settings"
        echo '{"autolaunch": true}' > "$settings/plugin.jupyterlab-settings"
        echo "course: presenting $notebook: in the notebook on the left, Run > Run All Cells; then reload the slides on"
        echo "        the right (their toolbar's reload button) and present (full screen: its first button; Alt+R reopens)."
        exec "$VENV/bin/jupyter" lab notebooks/ "${as_root[@]}" --LabApp.default_url="/lab/tree/$notebook" \
            --LabApp.user_settings_dir="$VENV/present-settings" "$@" ;;
    book)
        setup
        exec "$PY" scripts/build_book.py "$@" ;;
    hub-links)
        # needs only Python's standard library and this checkout: no set-up
        check_python "$PYTHON" "PYTHON"
        exec "$PYTHON" -m hub.links "$@" ;;
    *)
        echo "usage: ./course.sh [lab|test|setup|notebooks|student|grade|bench|train|train-beyond|present|book|hub-links]" >&2
        exit 2 ;;
esac
