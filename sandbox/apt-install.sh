#!/bin/sh
# Install the Debian packages listed in a file ('#' comments, one per line) without recommends,
# no daemon starting. Runs inside the image being built. Usage: apt-install.sh packages.txt
# SANDBOX_APT_ARCHIVES: a folder (bind-mounted by the offline build) that keeps downloaded .deb
# files between builds on one machine; then apt's own cache is not emptied.
set -eu

export DEBIAN_FRONTEND=noninteractive
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d

packages=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1" | tr '\n' ' ')
set -- -y -q --no-install-recommends
if [ -n "${SANDBOX_APT_ARCHIVES:-}" ]; then
    mkdir -p "$SANDBOX_APT_ARCHIVES/partial"
    # The folder belongs to the host's root, not to apt's download user.
    set -- "$@" -o "Dir::Cache::Archives=$SANDBOX_APT_ARCHIVES" -o "APT::Sandbox::User=root"
fi
apt-get update -q
# shellcheck disable=SC2086
apt-get install "$@" $packages
apt-get clean
rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d
