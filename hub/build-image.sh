#!/usr/bin/env bash
# Build the class's single-user image with repo2docker (https://repo2docker.readthedocs.io), from this repository:
#   hub/build-image.sh IMAGE_NAME[:TAG]            e.g. hub/build-image.sh registry.example.edu/em2vae:2026-12
# then push it (docker push IMAGE_NAME:TAG) and name it in hub/z2jh-values.yaml (singleuser.image).
#
# It is Binder's image (binder/: the pinned requirements.txt, so jupyterhub-singleuser, nbgitpuller and whatever
# else the course pins come along; postBuild installs helpers/ and fetches MNIST, verified by sha256), with two
# changes for a hub:
#  * the repository goes to /srv/em2vae, not the home folder: on a hub every student's home is their own
#    persistent volume mounted over /home/jovyan, which would hide MNIST, the shipped models and helpers/;
#    the students' notebooks come from nbgitpuller into ~/em2vae instead, and import helpers from /srv/em2vae;
#  * the build ends by checking the image (python -m hub.check_image): MNIST verified, every shipped model present.
# Needs Docker and `pip install jupyter-repo2docker`; neither runs on the course's CI machines, so this script
# is checked there (tests/test_hub_files.py) but not run.
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:?usage: hub/build-image.sh IMAGE_NAME[:TAG]  (e.g. registry.example.edu/em2vae:2026-12)}
command -v jupyter-repo2docker >/dev/null || {
    echo "build-image: jupyter-repo2docker is not installed: pip install jupyter-repo2docker (and Docker must run)" >&2
    exit 2
}
exec jupyter-repo2docker --no-run --user-name jovyan --image-name "$image" \
    --target-repo-dir /srv/em2vae \
    --appendix 'RUN cd /srv/em2vae && python -m hub.check_image' \
    .
