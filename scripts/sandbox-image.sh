#!/usr/bin/env bash
# Build the sandbox images unless images built from the same recipe already exist:
#   slim       Debian + sandbox/packages.txt (Python, Node.js, git, build-essential)
#   universal  slim + sandbox/packages-universal.txt + sandbox/tools.txt (Go, Rust, Java, Ruby, ...)
# Usage: scripts/sandbox-image.sh [all|slim|universal]   (default all; universal needs slim)
#
#   SANDBOX_IMAGE              the universal image's name (default codexweb-sandbox-universal:latest;
#                              the app's default image, so the same setting names both)
#   SANDBOX_SLIM_IMAGE         the slim image's name (default codexweb-sandbox-slim:latest)
#   SANDBOX_IMAGE_BUILD        auto (default) | docker | offline
#                              auto: `docker build` (sandbox/Dockerfile) when the Debian base can be
#                              pulled, else the offline path: debootstrap into a folder + docker import
#   SANDBOX_IMAGE_FORCE=1      rebuild even when the images are current
#   SANDBOX_BUILD_CACHE        folder kept between builds on one machine: downloaded .deb files and
#                              the pinned tools (default .cache/sandbox-build in the checkout)
#   SANDBOX_DEBIAN_SUITE       default: this host's VERSION_CODENAME, else bookworm
#   SANDBOX_DEBIAN_MIRROR      default: the mirror apt on this host uses for that suite
#   SANDBOX_DEBIAN_SECURITY    default: the security mirror apt on this host uses (optional)
#   SANDBOX_DEBIAN_BASE        base image for the docker path (default debian:<suite>-slim)
set -euo pipefail

HERE="$(cd "$(dirname "$0")/.." && pwd)"
RECIPE_DIR="$HERE/sandbox"
UNIVERSAL="${SANDBOX_IMAGE:-codexweb-sandbox-universal:latest}"
SLIM="${SANDBOX_SLIM_IMAGE:-codexweb-sandbox-slim:latest}"
MODE="${SANDBOX_IMAGE_BUILD:-auto}"
WHICH="${1:-all}"
CACHE="${SANDBOX_BUILD_CACHE:-$HERE/.cache/sandbox-build}"

say() { echo "sandbox-image: $*" >&2; }

host_codename() {
    # shellcheck disable=SC1091
    (. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
}
SUITE="${SANDBOX_DEBIAN_SUITE:-$(host_codename)}"
SUITE="${SUITE:-bookworm}"
BASE="${SANDBOX_DEBIAN_BASE:-debian:${SUITE}-slim}"
# The user's tool folders first (keep in sync with tasks/sandbox/spec.py USER_TOOL_DIRS).
IMAGE_PATH="/home/sandbox/.local/bin:/home/sandbox/go/bin:/home/sandbox/.cargo/bin:/home/sandbox/.npm-global/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# The recipe decides an image's content; each image carries its hash as a label. The universal
# recipe includes the slim one, which it builds on.
recipe_of() { (cd "$RECIPE_DIR" && cat "$@" | sha256sum | cut -c1-16); }
SLIM_RECIPE="$(recipe_of packages.txt apt-install.sh provision.sh)"
UNIVERSAL_RECIPE="$( (echo "$SLIM_RECIPE"; cd "$RECIPE_DIR" && cat packages-universal.txt provision-universal.sh tools.txt Dockerfile) | sha256sum | cut -c1-16)"
RECIPE_LABEL="org.codexweb.sandbox.recipe"

# Copy the recipe's files (not its folders: sandbox/helper is built on the host, not in the image)
# into folder $1.
copy_recipe() { find "$RECIPE_DIR" -maxdepth 1 -type f -exec cp -t "$1" {} +; }

current() { # image recipe
    [ "${SANDBOX_IMAGE_FORCE:-0}" != "1" ] &&
        [ "$(docker image inspect -f "{{ index .Config.Labels \"$RECIPE_LABEL\" }}" "$1" 2>/dev/null || true)" = "$2" ]
}

case "$WHICH" in
all | universal) want_universal=1 ;;
slim) want_universal=0 ;;
*) say "usage: sandbox-image.sh [all|slim|universal], not '$WHICH'"; exit 1 ;;
esac
build_slim=0
build_universal=0
current "$SLIM" "$SLIM_RECIPE" || build_slim=1
if [ "$want_universal" = 1 ] && ! current "$UNIVERSAL" "$UNIVERSAL_RECIPE"; then
    build_universal=1
fi
[ "$build_slim" = 0 ] && say "$SLIM is up to date (recipe $SLIM_RECIPE)"
[ "$want_universal" = 1 ] && [ "$build_universal" = 0 ] && say "$UNIVERSAL is up to date (recipe $UNIVERSAL_RECIPE)"
if [ "$build_slim" = 0 ] && [ "$build_universal" = 0 ]; then
    exit 0
fi

# The pinned tools of tools.txt, fetched on the host into $CACHE/downloads (kept between builds),
# then copied into folder $1.
fetch_tools() {
    local dest="$1" store="$CACHE/downloads" kind name version sha file arch
    mkdir -p "$store" "$dest"
    arch="$(uname -m)"
    while read -r kind name version sha; do
        case "$kind" in '' | '#'*) continue ;; esac
        case "$kind" in
        pip)
            file="$(ls "$store/$name-$version-"*"$arch"*.whl 2>/dev/null | head -n 1 || true)"
            if [ -z "$file" ]; then
                say "downloading $name $version (pip)"
                "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: \
                    --platform "manylinux_2_17_$arch" --python-version 3.11 \
                    --dest "$store" "$name==$version" >&2
                file="$(ls "$store/$name-$version-"*"$arch"*.whl | head -n 1)"
            fi
            ;;
        npm)
            file="$store/$name-$version.tgz"
            if [ ! -f "$file" ]; then
                say "downloading $name $version (npm)"
                if command -v npm >/dev/null; then
                    (cd "$store" && npm pack --silent "$name@$version" >/dev/null)
                else
                    curl -fsSL -o "$file.part" "https://registry.npmjs.org/$name/-/$name-$version.tgz"
                    mv "$file.part" "$file"
                fi
            fi
            if [ -n "$sha" ] && [ "$(sha256sum "$file" | cut -d' ' -f1)" != "$sha" ]; then
                rm -f "$file"
                say "$name-$version.tgz does not have the sha256 in sandbox/tools.txt; removed it"
                exit 1
            fi
            ;;
        *) say "tools.txt: unknown kind '$kind'"; exit 1 ;;
        esac
        cp "$file" "$dest/"
    done <"$RECIPE_DIR/tools.txt"
}
PYTHON="$HERE/.venv/bin/python"
[ -x "$PYTHON" ] || PYTHON=python3

# Print the first URI apt uses for suite $1 (one-line sources.list or deb822 .sources files).
apt_mirror_for() {
    local suite="$1"
    local files=()
    [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && files+=("$f")
    done
    [ "${#files[@]}" -eq 0 ] && return 0
    for f in "${files[@]}"; do
        case "$f" in
        *.sources)
            awk -v suite="$suite" 'BEGIN { RS = "" } {
                uris = ""; hit = 0; deb = 0
                n = split($0, lines, "\n")
                for (i = 1; i <= n; i++) {
                    line = lines[i]
                    if (line ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", line); split(line, u, /[ \t]+/); uris = u[1] }
                    if (line ~ /^Types:/ && line ~ /(^|[ \t])deb([ \t]|$)/) deb = 1
                    if (line ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", line); m = split(line, s, /[ \t]+/)
                        for (j = 1; j <= m; j++) if (s[j] == suite) hit = 1 }
                }
                if (hit && deb && uris != "") print uris
            }' "$f"
            ;;
        *)
            awk -v suite="$suite" '$1 == "deb" {
                i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                if ($(i + 1) == suite) print $i
            }' "$f"
            ;;
        esac
    done | head -n 1
}

# Tag image id $1 as $2, removing the image $2 named before (a running sandbox that still uses
# it keeps it until the next build).
retag() {
    local id="$1" name="$2" previous
    previous="$(docker image inspect -f '{{.Id}}' "$name" 2>/dev/null || true)"
    docker tag "$id" "$name"
    if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{.Id}}' "$name")" ]; then
        docker rmi "$previous" >/dev/null 2>&1 || true
    fi
}

build_docker() {
    local context id
    context="$(mktemp -d "${TMPDIR:-/tmp}/codexweb-sandbox-context.XXXXXX")"
    # shellcheck disable=SC2064
    trap "rm -rf '$context'" EXIT
    copy_recipe "$context"
    mkdir -p "$context/downloads"
    [ "$build_universal" = 1 ] && fetch_tools "$context/downloads"
    if [ "$build_slim" = 1 ]; then
        say "building $SLIM with docker build from $BASE"
        id="$(docker build -q --pull=false --build-arg "DEBIAN_BASE=$BASE" --target slim \
            --label "$RECIPE_LABEL=$SLIM_RECIPE" "$context")"
        retag "$id" "$SLIM"
    fi
    if [ "$build_universal" = 1 ]; then
        say "building $UNIVERSAL with docker build (on top of the slim stage)"
        id="$(docker build -q --pull=false --build-arg "DEBIAN_BASE=$BASE" --target universal \
            --label "$RECIPE_LABEL=$UNIVERSAL_RECIPE" "$context")"
        retag "$id" "$UNIVERSAL"
    fi
}

# Import folder $1 as image $2 with recipe $3; untagged first and tagged only when tar succeeded,
# so a failed build never looks current.
import_root() {
    local root="$1" name="$2" recipe="$3" id
    say "importing the root file system as $name"
    id="$(tar --numeric-owner -C "$root" -c . | docker import \
        --change "ENV PATH=$IMAGE_PATH" \
        --change "ENV LANG=C.UTF-8" \
        --change "ENV PYTHONDONTWRITEBYTECODE=1" \
        --change "ENV PIP_DISABLE_PIP_VERSION_CHECK=1" \
        --change "USER sandbox" \
        --change "WORKDIR /workspace" \
        --change 'CMD ["sleep", "infinity"]' \
        --change "LABEL $RECIPE_LABEL=$recipe" \
        -)" || { [ -n "${id:-}" ] && docker rmi "$id" >/dev/null 2>&1; say "import failed"; exit 1; }
    retag "$id" "$name"
}

# Run a provisioning script in the chroot $1 with the recipe copied in; .deb files are kept in
# $CACHE/apt between builds (bind-mounted, never part of the image).
in_chroot() {
    local root="$1"
    shift
    mkdir -p "$root/tmp/sandbox-build" "$root/var/cache/codexweb-apt" "$CACHE/apt"
    copy_recipe "$root/tmp/sandbox-build"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    mount -t proc proc "$root/proc"
    mount --bind "$CACHE/apt" "$root/var/cache/codexweb-apt"
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        SANDBOX_APT_ARCHIVES=/var/cache/codexweb-apt "$@" >&2
    umount "$root/var/cache/codexweb-apt" "$root/proc"
    rmdir "$root/var/cache/codexweb-apt"
    rm -rf "$root/tmp/sandbox-build" "$root/var/cache/apt/archives/"*.deb
    : >"$root/etc/resolv.conf"
}

build_offline() {
    local mirror security root
    mirror="${SANDBOX_DEBIAN_MIRROR:-$(apt_mirror_for "$SUITE")}"
    security="${SANDBOX_DEBIAN_SECURITY:-$(apt_mirror_for "$SUITE-security")}"
    if [ -z "$mirror" ]; then
        say "no Debian mirror for '$SUITE' in apt's sources; set SANDBOX_DEBIAN_MIRROR"
        exit 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
        say "the offline build (debootstrap + chroot) needs root"
        exit 1
    fi
    command -v debootstrap >/dev/null || { say "debootstrap is not installed (apt-get install debootstrap)"; exit 1; }

    root="$(mktemp -d "${TMPDIR:-/tmp}/codexweb-sandbox-root.XXXXXX")"
    chmod 0755 "$root" # it becomes '/': mktemp's 0700 would shut the users out inside the chroot
    # shellcheck disable=SC2064
    trap "umount '$root/var/cache/codexweb-apt' '$root/proc' 2>/dev/null || true; rm -rf --one-file-system '$root'" EXIT
    if [ "$build_slim" = 1 ]; then
        mkdir -p "$CACHE/debootstrap"
        say "debootstrap $SUITE from $mirror into $root"
        debootstrap --variant=minbase --components=main --cache-dir="$CACHE/debootstrap" \
            "$SUITE" "$root" "$mirror" >&2
        {
            echo "deb $mirror $SUITE main"
            echo "deb $mirror $SUITE-updates main"
            [ -n "$security" ] && echo "deb $security $SUITE-security main"
        } >"$root/etc/apt/sources.list"
        say "installing the slim package list in the chroot"
        in_chroot "$root" sh /tmp/sandbox-build/provision.sh /tmp/sandbox-build/packages.txt
        import_root "$root" "$SLIM" "$SLIM_RECIPE"
    else
        # The universal image builds on the current slim one: start from its file system.
        say "unpacking $SLIM into $root"
        local box
        box="$(docker create "$SLIM")"
        docker export "$box" | tar --numeric-owner -C "$root" -x
        docker rm "$box" >/dev/null
    fi
    if [ "$build_universal" = 1 ]; then
        fetch_tools "$root/tmp/sandbox-downloads"
        say "installing the universal package list and tools in the chroot"
        in_chroot "$root" sh /tmp/sandbox-build/provision-universal.sh \
            /tmp/sandbox-build/packages-universal.txt /tmp/sandbox-downloads
        rm -rf "$root/tmp/sandbox-downloads"
        import_root "$root" "$UNIVERSAL" "$UNIVERSAL_RECIPE"
    fi
}

size_of() { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1000000 }'; }

start=$(date +%s)
what="$SLIM"
[ "$build_slim" = 0 ] && what=""
[ "$build_universal" = 1 ] && what="${what:+$what and }$UNIVERSAL"
say "building $what"
case "$MODE" in
docker) build_docker ;;
offline) build_offline ;;
auto)
    if docker image inspect "$BASE" >/dev/null 2>&1 || timeout 30 docker pull "$BASE" >/dev/null 2>&1; then
        build_docker
    else
        say "cannot pull $BASE; using the offline path"
        build_offline
    fi
    ;;
*) say "SANDBOX_IMAGE_BUILD must be auto, docker or offline, not '$MODE'"; exit 1 ;;
esac
[ "$build_slim" = 1 ] && say "$SLIM: recipe $SLIM_RECIPE, $(size_of "$SLIM")"
[ "$build_universal" = 1 ] && say "$UNIVERSAL: recipe $UNIVERSAL_RECIPE, $(size_of "$UNIVERSAL")"
say "built $what in $(($(date +%s) - start))s"
