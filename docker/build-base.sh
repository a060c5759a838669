#!/usr/bin/env bash
# Builds the local base image of the grading image WITHOUT any container registry:
#   Debian bookworm (debootstrap, minbase) + its python3 (3.11) + a venv at /opt/venv holding
#   requirements.txt (torch, torchvision, ...) and setuptools, imported with `docker import`.
#
# Tags: dl-grader-base:<hash of requirements.txt and this script> and dl-grader-base:local.
# When the hash tag exists already, nothing is done ("base image up to date"): that is the
# cache between CI runs on one machine. FORCE=1 rebuilds anyway (e.g. for Debian security
# updates, which do not change the hash).
#
# Needs: root (debootstrap, chroot, mounts), a running Docker engine, the Debian mirror, and
# pip's wheels: the pip settings of this machine (PIP_FIND_LINKS, PIP_INDEX_URL,
# PIP_EXTRA_INDEX_URL, PIP_CONSTRAINT, ... from the environment or `pip config list`) are
# passed into the chroot, and the local folders they name are bind-mounted there read-only.
#
# Settings (environment): SUITE (bookworm), MIRROR, SECURITY_MIRROR (from /etc/apt sources,
# else deb.debian.org), APT_UPGRADE (1: apply bookworm-updates/-security in the rootfs),
# BUILD_DIR (where the temporary rootfs goes, /var/tmp), DEBOOTSTRAP_CACHE (the .debs kept
# between builds, /var/cache/dl-grader/debootstrap), BASE_IMAGE (dl-grader-base), FORCE,
# KEEP_OLD (1: keep the older dl-grader-base:<hash> tags; by default they are removed).
set -Eeuo pipefail
trap 'printf "build-base: exit %d at line %d: %s\n" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
REQUIREMENTS=$ROOT/requirements.txt
BASE_IMAGE=${BASE_IMAGE:-dl-grader-base}
SUITE=${SUITE:-bookworm}
PACKAGES=python3,python3-venv,ca-certificates,libgomp1,procps
APT_UPGRADE=${APT_UPGRADE:-1}
BUILD_DIR=${BUILD_DIR:-/var/tmp}
DEBOOTSTRAP_CACHE=${DEBOOTSTRAP_CACHE:-/var/cache/dl-grader/debootstrap}
FORCE=${FORCE:-0}
KEEP_OLD=${KEEP_OLD:-0}
VENV=/opt/venv
IMAGE_PATH=$VENV/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

T0=$SECONDS
PHASE= PHASE_T0=0
TIMINGS=()
log() { printf '==> %s\n' "$*"; }
die() { printf 'build-base: error: %s\n' "$*" >&2; exit 1; }
phase() {  # phase NAME: ends the phase running (its time goes to the summary), starts NAME
    if [[ -n $PHASE ]]; then
        TIMINGS+=("$(printf '%-32s %4d s' "$PHASE" $((SECONDS - PHASE_T0)))")
        log "$PHASE: done in $((SECONDS - PHASE_T0)) s"
    fi
    PHASE=$1 PHASE_T0=$SECONDS
    [[ -n $PHASE ]] && printf '\n==> [%s] %s\n' "$(date +%H:%M:%S)" "$PHASE"
    return 0
}

# ---------------------------------------------------------------------------- preconditions
[[ -f $REQUIREMENTS ]] || die "no $REQUIREMENTS"
command -v docker >/dev/null || die "no docker client on PATH"
docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed). Start one, e.g.
    dockerd >/var/log/dockerd.log 2>&1 &   (Debian: apt-get install docker.io)"

TAG=$(cat "$REQUIREMENTS" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-12)
IMAGE=$BASE_IMAGE:$TAG

# One build at a time on this machine (two CI jobs would otherwise both build 6 GB).
mkdir -p /run/lock 2>/dev/null || true
exec 9>"/run/lock/dl-grader-base.lock" || die "cannot open the lock file (not root?)"
flock 9

if [[ $FORCE != 1 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    docker tag "$IMAGE" "$BASE_IMAGE:local"
    log "base image up to date: $IMAGE (= $BASE_IMAGE:local); FORCE=1 rebuilds it"
    exit 0
fi
log "building $IMAGE (requirements.txt + build-base.sh hash $TAG)"
[[ $(id -u) == 0 ]] || die "debootstrap and chroot need root"
[[ $(uname -m) == x86_64 ]] || die "only amd64 is supported (the pinned wheels are x86_64)"

# Mirrors: those of this machine's apt sources when they name deb.debian.org-like ones.
host_mirror() {  # host_mirror SUITE: the first URI serving SUITE in /etc/apt sources
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] || continue
        awk -v s="$1" 'BEGIN{RS=""} $0 ~ ("Suites:[^\n]*[ \t]" s "([ \t\n]|$)") {
            for (i = 1; i <= NF; i++) if ($i == "URIs:") { print $(i+1); exit } }' "$f"
    done
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk -v s="$1" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i+1) == s) print $i; break } }' || true
    return 0
}
MIRROR=${MIRROR:-$(host_mirror "$SUITE" | sed -n 1p)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-$(host_mirror "$SUITE-security" | sed -n 1p)}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# --------------------------------------------------------------- pip settings for the chroot
# Taken from the environment, else from `pip config list` (global/install scopes).
PIP_CONFIG=$({ python3 -m pip config list || pip3 config list; } 2>/dev/null || true)
pip_setting() {  # pip_setting KEY ENVVAR
    local v=${!2-}
    [[ -n $v ]] || v=$(printf '%s\n' "$PIP_CONFIG" | sed -n "s/^\(global\|install\)\.$1='\(.*\)'\$/\2/p" | tail -1)
    printf '%s' "$v"
}
declare -A PIPSET
for kv in index-url:PIP_INDEX_URL extra-index-url:PIP_EXTRA_INDEX_URL find-links:PIP_FIND_LINKS \
          constraint:PIP_CONSTRAINT cert:PIP_CERT trusted-host:PIP_TRUSTED_HOST no-index:PIP_NO_INDEX \
          default-timeout:PIP_DEFAULT_TIMEOUT; do
    PIPSET[${kv#*:}]=$(pip_setting "${kv%%:*}" "${kv#*:}")
done
# Local folders to bind-mount read-only at the same path: find-links folders, and for file://
# indexes the folder above .../simple (their pages link to ../../files/...).
BIND_RO=()
local_dir() {  # local_dir WORD IS_INDEX: prints the folder to mount, if WORD is a local one
    local p=$1
    case $p in file://*) p=${p#file://} ;; /*) ;; *) return 0 ;; esac
    p=${p%/}
    [[ $2 == 1 && $(basename "$p") == simple ]] && p=$(dirname "$p")
    [[ -d $p ]] && printf '%s\n' "$p"
    return 0
}
for w in ${PIPSET[PIP_FIND_LINKS]}; do BIND_RO+=($(local_dir "$w" 0)); done
for w in ${PIPSET[PIP_INDEX_URL]} ${PIPSET[PIP_EXTRA_INDEX_URL]}; do BIND_RO+=($(local_dir "$w" 1)); done
mapfile -t BIND_RO < <(printf '%s\n' "${BIND_RO[@]}" | awk 'NF && !seen[$0]++')

# ------------------------------------------------------------- rootfs, mounts and the trap
mkdir -p "$BUILD_DIR"
WORK=$(mktemp -d "$BUILD_DIR/dl-grader-base.XXXXXX")
ROOTFS=$WORK/rootfs
MOUNTS=()   # mounted paths under $ROOTFS, in mount order
mounted_under() { awk -v r="$ROOTFS" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts; }
unmount_all() {
    local i
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" 2>/dev/null || true
    done
    MOUNTS=()
    local m
    for m in $(mounted_under | sort -r); do umount -l "$m" 2>/dev/null || true; done
}
cleanup() {
    local rc=$?
    set +e
    unmount_all
    if [[ -n $(mounted_under) ]]; then
        printf 'build-base: still mounted under %s, NOT removing it:\n%s\n' "$ROOTFS" "$(mounted_under)" >&2
    else
        rm -rf --one-file-system "$WORK"
    fi
    ((rc == 0)) || printf '\nbuild-base: FAILED (exit %d) in phase: %s\n' "$rc" "${PHASE:-?}" >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mnt() {  # mnt [mount options...] TARGET (TARGET last, relative to the rootfs)
    local target=$ROOTFS${*: -1}
    mkdir -p "$target"
    mount "${@:1:$#-1}" "$target"
    MOUNTS+=("$target")
}
mnt_ro_bind() {  # mnt_ro_bind HOSTDIR: at the same path, read-only
    mnt --bind "$1" "$1"
    mount -o remount,bind,ro "$ROOTFS$1"
}
PROXY_ENV=()  # a proxy of this machine is one of the chroot's too (apt, pip)
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    [[ -z ${!v-} ]] || PROXY_ENV+=("$v=${!v}")
done
in_root() {  # in_root CMD...: in the chroot, a clean environment
    chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive ${PROXY_ENV[@]+"${PROXY_ENV[@]}"} "$@"
}

# ------------------------------------------------------------------------------ debootstrap
phase "debootstrap $SUITE"
if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends debootstrap ||
        { apt-get -o DPkg::Lock::Timeout=600 update -q && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends debootstrap; }
fi
[[ -f $KEYRING ]] || die "no $KEYRING (apt-get install debian-archive-keyring)"
mkdir -p "$DEBOOTSTRAP_CACHE"
log "mirror $MIRROR, packages $PACKAGES, into $ROOTFS"
debootstrap --variant=minbase --include="$PACKAGES" --keyring="$KEYRING" \
    --cache-dir="$DEBOOTSTRAP_CACHE" "$SUITE" "$ROOTFS" "$MIRROR" |
    awk '/^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) / { n++; if (n % 40) next } { print; fflush() }'

mnt -t proc proc /proc
mnt --bind /dev /dev
# The chroot resolves names as this machine does: apt, and pip when its settings name an
# index on the network (pypi.org by default; not every pinned version is on local indexes).
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
cat >"$ROOTFS/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
if [[ $APT_UPGRADE == 1 ]]; then
    phase "apt upgrade (updates, security)"
    in_root apt-get update -q
    in_root apt-get -y -q -o Dpkg::Options::=--force-confold upgrade
fi
in_root apt-get clean
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin

# ---------------------------------------------------------------------------- venv and pip
phase "venv + pip install (chroot)"
PY_VERSION=$(in_root python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
log "python $PY_VERSION; local wheel folders (read-only): ${BIND_RO[*]:-none}"
for d in "${BIND_RO[@]}"; do mnt_ro_bind "$d"; done
BUILD=/tmp/dl-grader-build
mkdir -p "$ROOTFS$BUILD"
cp "$REQUIREMENTS" "$ROOTFS$BUILD/requirements.txt"
PIP_ENV=(PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off)
n=0
for var in "${!PIPSET[@]}"; do
    val=${PIPSET[$var]}
    [[ -n $val ]] || continue
    case $var in
    PIP_CONSTRAINT | PIP_CERT)  # files: copied in
        files=()
        for f in $val; do
            [[ -f $f ]] || die "$var names $f, which is not a file"
            n=$((n + 1)); cp "$f" "$ROOTFS$BUILD/$n-$(basename "$f")"; files+=("$BUILD/$n-$(basename "$f")")
        done
        val="${files[*]}" ;;
    esac
    PIP_ENV+=("$var=$val")
    log "  $var=$val"
done
in_root python3 -m venv "$VENV"
in_root "${PIP_ENV[@]}" "$VENV/bin/python" -m pip install -q --upgrade pip
# (pip warns once per project and file:// index lacking a page for it: noise, filtered out)
in_root "${PIP_ENV[@]}" "$VENV/bin/python" -m pip install -r "$BUILD/requirements.txt" setuptools 2>&1 |
    awk '!/^WARNING: Location .* is ignored: it is neither a file nor a directory/ { print; fflush() }'
in_root "$VENV/bin/python" -m pip check
in_root "$VENV/bin/python" -I -c 'import torch, torchvision, numpy, safetensors
print("torch", torch.__version__, "torchvision", torchvision.__version__, "numpy", numpy.__version__)'

unmount_all
for d in "${BIND_RO[@]}"; do  # the empty mount points; their parents too when empty
    rmdir "$ROOTFS$d" 2>/dev/null && (cd "$ROOTFS" && rmdir -p "$(dirname "${d#/}")" 2>/dev/null) || true
done
rm -rf "$ROOTFS$BUILD" "$ROOTFS"/root/.cache "$ROOTFS"/tmp/* "$ROOTFS"/var/log/apt/* "$ROOTFS"/var/log/*.log
: >"$ROOTFS/etc/resolv.conf"
[[ -d $ROOTFS/usr/local/bin ]] || die "rootfs looks incomplete"

# ----------------------------------------------------------------------------- docker import
phase "docker import"
SIZE=$(du -sm "$ROOTFS" | cut -f1)
log "rootfs: $SIZE MiB; tar | docker import $IMAGE (progress every 512 MiB)"
tar --numeric-owner --xattrs --xattrs-include='security.capability' -C "$ROOTFS" \
    --checkpoint=$((512 * 1024 * 1024 / 10240)) --checkpoint-action='echo=%T' -c . |
    docker import \
        --change "ENV PATH=$IMAGE_PATH" \
        --change 'ENV PYTHONDONTWRITEBYTECODE=1' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility' \
        --change "LABEL org.opencontainers.image.title=dl-grader-base dl-grader.base.hash=$TAG dl-grader.base.suite=$SUITE dl-grader.base.python=$PY_VERSION" \
        --change 'CMD ["python3"]' \
        --message "dl-grader base: debootstrap $SUITE + $VENV (requirements.txt $TAG)" \
        - "$IMAGE" >/dev/null
docker tag "$IMAGE" "$BASE_IMAGE:local"

phase "cleanup"
rm -rf --one-file-system "$ROOTFS"
if [[ $KEEP_OLD != 1 ]]; then  # older bases: untagged, removed unless a container or an image uses them
    docker images --format '{{.Repository}}:{{.Tag}}' "$BASE_IMAGE" |
        grep -vxF -e "$IMAGE" -e "$BASE_IMAGE:local" | xargs -r docker rmi >/dev/null 2>&1 || true
    docker image prune -f --filter "label=org.opencontainers.image.title=$BASE_IMAGE" >/dev/null || true
fi
phase ""

printf '\n==> built %s (= %s:local) in %d s\n' "$IMAGE" "$BASE_IMAGE" $((SECONDS - T0))
printf '    %s\n' "${TIMINGS[@]}"
docker images "$BASE_IMAGE"
