#!/usr/bin/env bash
# Builds the grading image dl-grader:local (make image).
#   BASE=dl-grader-base:local (default): first docker/build-base.sh (no registry needed; a
#       no-op when the base is up to date), then docker/Dockerfile on it, with --network none.
#   BASE=<another image, e.g. pytorch/pytorch:...>: docker/Dockerfile on it, installing
#       requirements.txt in it (INSTALL_REQUIREMENTS=1); needs that image pullable.
# Settings (environment): BASE, IMAGE (dl-grader:local), INSTALL_REQUIREMENTS (0 for the
# local base, else 1), WORKER_UID (10001).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
BASE=${BASE:-dl-grader-base:local}
IMAGE=${IMAGE:-dl-grader:local}
WORKER_UID=${WORKER_UID:-10001}
T0=$SECONDS

command -v docker >/dev/null || { echo "build-image: no docker client on PATH" >&2; exit 1; }
docker info >/dev/null 2>&1 || {
    echo "build-image: no Docker engine answers (docker info failed); start dockerd first" >&2; exit 1; }

# Without the buildx plugin (Debian's docker.io), `docker build` is the legacy builder: say so,
# rather than fail when DOCKER_BUILDKIT=1 is set. The Dockerfile builds with either.
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0

NETWORK=()
if [[ $BASE == dl-grader-base:* ]]; then
    "$HERE/build-base.sh"
    INSTALL_REQUIREMENTS=${INSTALL_REQUIREMENTS:-0}
    NETWORK=(--network none)  # everything is in the base: the build must not need the network
else
    INSTALL_REQUIREMENTS=${INSTALL_REQUIREMENTS:-1}
fi
T1=$SECONDS

VERSION=$(sed -n 's/^version *= *"\(.*\)".*/\1/p' "$ROOT/pyproject.toml" | sed -n 1p)
LABELS=()
if REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null); then
    [[ -z $(git -C "$ROOT" status --porcelain -- pyproject.toml README.md requirements.txt grader 2>/dev/null) ]] || REV=$REV-dirty
    LABELS=(--label "org.opencontainers.image.revision=$REV")
fi

printf '\n==> [%s] docker build %s (FROM %s, grader %s, INSTALL_REQUIREMENTS=%s)\n' \
    "$(date +%H:%M:%S)" "$IMAGE" "$BASE" "${VERSION:-?}" "$INSTALL_REQUIREMENTS"
docker build "${NETWORK[@]}" "${LABELS[@]}" \
    --build-arg "BASE=$BASE" \
    --build-arg "INSTALL_REQUIREMENTS=$INSTALL_REQUIREMENTS" \
    --build-arg "GRADER_VERSION=${VERSION:-unknown}" \
    --build-arg "WORKER_UID=$WORKER_UID" \
    -t "$IMAGE" -f "$HERE/Dockerfile" "$ROOT"

printf '\n==> built %s in %d s (base %d s, docker build %d s)\n' \
    "$IMAGE" $((SECONDS - T0)) $((T1 - T0)) $((SECONDS - T1))
docker images "${IMAGE%%:*}"
