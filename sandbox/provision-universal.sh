#!/bin/sh
# Turn a provisioned slim root (provision.sh) into the universal image: the toolchains of
# packages-universal.txt and the pinned tools of tools.txt, whose files the build fetched on the
# host into the folder given (nothing here needs the internet).
# Usage: provision-universal.sh /path/to/packages-universal.txt /path/to/downloads
set -eu

PACKAGES_FILE="$1"
DOWNLOADS="$2"
HERE="$(dirname "$0")"

sh "$HERE/apt-install.sh" "$PACKAGES_FILE"

# uv (a wheel holding one static binary); root's pip installs into /usr/local on Debian
# (an explicit --prefix /usr/local would land in /usr/local/local).
python3 -m pip install --no-index --no-deps --no-cache-dir --root-user-action=ignore \
    "$DOWNLOADS"/uv-*.whl
# pnpm and yarn from their npm tarballs (neither has dependencies), into /usr/local.
npm install --global --prefix /usr/local --offline --no-audit --no-fund \
    "$DOWNLOADS"/pnpm-*.tgz "$DOWNLOADS"/yarn-*.tgz
rm -rf /root/.npm /root/.cache

# Go and Cargo put what the user installs under ~/go/bin and ~/.cargo/bin (on PATH); make both
# exist, owned by the user.
mkdir -p /home/sandbox/go/bin /home/sandbox/.cargo/bin
chown -R sandbox:sandbox /home/sandbox/go /home/sandbox/.cargo

# Fail the build, not a later attempt, when a toolchain does not run.
for check in "python --version" "uv --version" "pipx --version" "poetry --version" \
    "node --version" "npm --version" "pnpm --version" "yarn --version" "go version" \
    "rustc --version" "cargo --version" "javac -version" "mvn -v" "ruby --version" \
    "bundle --version" "cmake --version" "sqlite3 --version" "jq --version" "rg --version"; do
    # setpriv, not su: no PAM session is needed (a chroot may have none).
    # shellcheck disable=SC2086
    if ! out="$(cd /tmp && env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/home/sandbox \
        setpriv --reuid=sandbox --regid=sandbox --init-groups $check 2>&1)"; then
        echo "provision-universal: '$check' does not run as sandbox: $out" >&2
        exit 1
    fi
done
