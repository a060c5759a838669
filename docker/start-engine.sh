#!/usr/bin/env bash
# Makes sure a Docker engine answers here: installs Debian's docker.io when there is no
# dockerd, starts dockerd when none runs, and waits for it (CI, or a fresh lab machine as root).
set -euo pipefail

if docker info >/dev/null 2>&1; then
    echo "start-engine: a Docker engine answers already"
    exit 0
fi
if [[ $(id -u) != 0 ]]; then
    echo "start-engine: no Docker engine answers, and only root can install or start one here" >&2
    exit 1
fi
if ! command -v dockerd >/dev/null; then
    echo "start-engine: installing Debian's docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq docker.io >/dev/null
fi
echo "start-engine: starting dockerd (log: /var/log/dockerd.log)"
setsid nohup dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
for _ in $(seq 1 120); do
    if docker info >/dev/null 2>&1; then
        echo "start-engine: dockerd is up ($(docker info --format '{{.ServerVersion}}, storage {{.Driver}}'))"
        exit 0
    fi
    sleep 0.5
done
echo "start-engine: dockerd did not answer within 60 s; the end of its log:" >&2
tail -n 30 /var/log/dockerd.log >&2
exit 1
