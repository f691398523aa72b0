#!/bin/sh
# Provision the slim sandbox image from a bare Debian root: install its package list and add the
# unprivileged users. Runs inside the image being built (Dockerfile RUN, or chroot on the offline
# path). Usage: provision.sh /path/to/packages.txt
set -eu

PACKAGES_FILE="$1"
HERE="$(dirname "$0")"
SANDBOX_UID="${SANDBOX_UID:-1000}"
READER_UID="${READER_UID:-1001}"

sh "$HERE/apt-install.sh" "$PACKAGES_FILE"

# The unprivileged users commands run as. No sudo, no passwords.
# 'sandbox' owns /workspace: the setup script and Code tasks run as it.
# 'reader' runs Ask tasks: it can read the workspace but not write it.
groupadd --gid "$SANDBOX_UID" sandbox
useradd --uid "$SANDBOX_UID" --gid "$SANDBOX_UID" --create-home --shell /bin/bash sandbox
groupadd --gid "$READER_UID" reader
useradd --uid "$READER_UID" --gid "$READER_UID" --create-home --shell /bin/bash reader
mkdir -p /workspace
chown sandbox:sandbox /workspace

# What the setup script installs for the user (pip --user, go install, cargo install, npm -g)
# lands in sandbox's home; Ask tasks run as 'reader' and must be able to run it too.
mkdir -p /home/sandbox/.local/bin /home/sandbox/.npm-global/bin
# npm -g without root: the user's own prefix (its bin folder is on PATH).
printf 'prefix=/home/sandbox/.npm-global\n' > /home/sandbox/.npmrc
chown -R sandbox:sandbox /home/sandbox
chmod 0755 /home/sandbox
# Nobody in the sandbox is root, so Debian's "externally managed" guard only stops
# `pip install --user`; without it pip installs into ~/.local as a user expects.
rm -f /usr/lib/python3*/EXTERNALLY-MANAGED

# The user's tool folders first, for login shells too (the sandbox sets PATH for every command it
# runs; keep this list the same as tasks/sandbox/spec.py USER_TOOL_DIRS).
cat > /etc/profile.d/codexweb-path.sh <<'PROFILE'
PATH="/home/sandbox/.local/bin:/home/sandbox/go/bin:/home/sandbox/.cargo/bin:/home/sandbox/.npm-global/bin:$PATH"
export PATH
PROFILE

# git refuses a repository owned by someone else; the workspace always belongs to 'sandbox'.
git config --system --add safe.directory /workspace
git config --system user.name "codexweb agent"
git config --system user.email "agent@codexweb.invalid"
