#!/bin/sh
# Provision the sandbox image from a bare Debian root: install the one package list and add the
# unprivileged user. Runs inside the image being built (Dockerfile RUN, or chroot on the offline
# path). Usage: provision.sh /path/to/packages.txt
set -eu

PACKAGES_FILE="$1"
SANDBOX_UID="${SANDBOX_UID:-1000}"
READER_UID="${READER_UID:-1001}"

export DEBIAN_FRONTEND=noninteractive
# No daemon may start while we install.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d

packages=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$PACKAGES_FILE" | tr '\n' ' ')
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $packages
apt-get clean
rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d

# The unprivileged users commands run as. No sudo, no passwords.
# 'sandbox' owns /workspace: the setup script and Code tasks run as it.
# 'reader' runs Ask tasks: it can read the workspace but not write it.
groupadd --gid "$SANDBOX_UID" sandbox
useradd --uid "$SANDBOX_UID" --gid "$SANDBOX_UID" --create-home --shell /bin/bash sandbox
groupadd --gid "$READER_UID" reader
useradd --uid "$READER_UID" --gid "$READER_UID" --create-home --shell /bin/bash reader
mkdir -p /workspace
chown sandbox:sandbox /workspace

# git refuses a repository owned by someone else; the workspace always belongs to 'sandbox'.
git config --system --add safe.directory /workspace
git config --system user.name "codexweb agent"
git config --system user.email "agent@codexweb.invalid"
