#!/usr/bin/env bash
# Build the default sandbox image (Debian + the one package list in sandbox/packages.txt) unless
# an image built from the same recipe already exists.
#
#   SANDBOX_IMAGE              image name (default codexweb-sandbox:latest)
#   SANDBOX_IMAGE_BUILD        auto (default) | docker | offline
#                              auto: `docker build` (sandbox/Dockerfile) when the Debian base can be
#                              pulled, else the offline path: debootstrap into a folder + docker import
#   SANDBOX_IMAGE_FORCE=1      rebuild even when the image is current
#   SANDBOX_DEBIAN_SUITE       default: this host's VERSION_CODENAME, else bookworm
#   SANDBOX_DEBIAN_MIRROR      default: the mirror apt on this host uses for that suite
#   SANDBOX_DEBIAN_SECURITY    default: the security mirror apt on this host uses (optional)
#   SANDBOX_DEBIAN_BASE        base image for the docker path (default debian:<suite>-slim)
set -euo pipefail

HERE="$(cd "$(dirname "$0")/.." && pwd)"
RECIPE_DIR="$HERE/sandbox"
IMAGE="${SANDBOX_IMAGE:-codexweb-sandbox:latest}"
MODE="${SANDBOX_IMAGE_BUILD:-auto}"

say() { echo "sandbox-image: $*" >&2; }

host_codename() {
    # shellcheck disable=SC1091
    (. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
}
SUITE="${SANDBOX_DEBIAN_SUITE:-$(host_codename)}"
SUITE="${SUITE:-bookworm}"
BASE="${SANDBOX_DEBIAN_BASE:-debian:${SUITE}-slim}"

# The recipe is what decides the image's content; the image carries its hash as a label.
RECIPE="$(cat "$RECIPE_DIR/packages.txt" "$RECIPE_DIR/provision.sh" | sha256sum | cut -c1-16)"
RECIPE_LABEL="org.codexweb.sandbox.recipe"

if [ "${SANDBOX_IMAGE_FORCE:-0}" != "1" ]; then
    current="$(docker image inspect -f "{{ index .Config.Labels \"$RECIPE_LABEL\" }}" "$IMAGE" 2>/dev/null || true)"
    if [ "$current" = "$RECIPE" ]; then
        say "$IMAGE is up to date (recipe $RECIPE)"
        exit 0
    fi
fi

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

build_docker() {
    say "building $IMAGE with docker build from $BASE"
    docker build --pull=false --build-arg "DEBIAN_BASE=$BASE" \
        --label "$RECIPE_LABEL=$RECIPE" -t "$IMAGE" "$RECIPE_DIR"
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
    # shellcheck disable=SC2064
    trap "umount '$root/proc' 2>/dev/null || true; rm -rf --one-file-system '$root'" EXIT
    say "debootstrap $SUITE from $mirror into $root"
    debootstrap --variant=minbase --components=main "$SUITE" "$root" "$mirror" >&2

    {
        echo "deb $mirror $SUITE main"
        echo "deb $mirror $SUITE-updates main"
        [ -n "$security" ] && echo "deb $security $SUITE-security main"
    } >"$root/etc/apt/sources.list"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    mkdir -p "$root/tmp/sandbox-build"
    cp "$RECIPE_DIR/packages.txt" "$RECIPE_DIR/provision.sh" "$root/tmp/sandbox-build/"
    mount -t proc proc "$root/proc"
    say "installing the package list in the chroot"
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        sh /tmp/sandbox-build/provision.sh /tmp/sandbox-build/packages.txt >&2
    umount "$root/proc"
    rm -rf "$root/tmp/sandbox-build" "$root/var/cache/apt/archives/"*.deb
    : >"$root/etc/resolv.conf"

    say "importing the root file system as $IMAGE"
    local id
    # Import untagged and tag only when tar succeeded, so a failed build never looks current.
    id="$(tar --numeric-owner -C "$root" -c . | docker import \
        --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --change "ENV LANG=C.UTF-8" \
        --change "ENV PYTHONDONTWRITEBYTECODE=1" \
        --change "ENV PIP_DISABLE_PIP_VERSION_CHECK=1" \
        --change "USER sandbox" \
        --change "WORKDIR /workspace" \
        --change 'CMD ["sleep", "infinity"]' \
        --change "LABEL $RECIPE_LABEL=$RECIPE" \
        -)" || { [ -n "${id:-}" ] && docker rmi "$id" >/dev/null 2>&1; say "import failed"; exit 1; }
    docker tag "$id" "$IMAGE"
}

start=$(date +%s)
previous="$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
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
say "built $IMAGE (recipe $RECIPE) in $(($(date +%s) - start))s"
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{.Id}}' "$IMAGE")" ]; then
    # The outdated image; still in use by a running sandbox, it stays until the next build.
    docker rmi "$previous" >/dev/null 2>&1 || true
fi
