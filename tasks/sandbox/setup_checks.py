"""Around the setup (or maintenance) script: the installation's extra CAs before it, the
search for secrets it left behind after it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import docker

from tasks.sandbox import java_trust_cache, leftovers
from tasks.sandbox.base import SandboxError
from tasks.sandbox.container import ContainerShell
from tasks.sandbox.spec import EXTRA_CA_PREFIX, JAVA_TRUSTSTORE, SETUP_USER
from tasks.sandbox.trust import split_certificates


def trust_extra_ca(shell: ContainerShell, extra_ca_pem: str) -> tuple[bool, bool]:
    """The installation's extra CAs (SANDBOX_EXTRA_CA_FILE), trusted from the start, for setup
    and agent alike. Without any there is nothing to do, also on a warm start: the warm key
    holds the CA set (tasks/sandbox/images.py), so an image made under another setting is never
    reused and a CA the operator dropped cannot live on in a cache. Returns (a Java trust store
    was made, the container trusts an extra CA)."""
    certs = split_certificates(extra_ca_pem)
    if not certs:
        return False, False
    files = {f"{EXTRA_CA_PREFIX}{n}.crt": cert.encode() for n, cert in enumerate(certs, 1)}
    image = shell.image_id()
    key = java_trust_cache.store_key(image, files) if image else ""
    made_before = java_trust_cache.cached_store(key) if key else None
    java_store = shell.trust_cas(
        files,
        what="the certificates of SANDBOX_EXTRA_CA_FILE",
        replace=f"{EXTRA_CA_PREFIX}*.crt",
        java_store=made_before,
    )
    if java_store and key and made_before is None:
        store = java_trust_cache.read_container_file(shell.api, shell.container_id, JAVA_TRUSTSTORE)
        if store:
            java_trust_cache.remember_store(key, store)
    return java_store, bool(certs)


def check_no_secret_files(
    api: docker.APIClient,
    shell: ContainerShell,
    container_id: str,
    secrets: Mapping[str, str],
    what: str,
    volumes: Sequence[str] = (),
) -> None:
    """Fail when the setup (or maintenance) script left a secret (or a common encoding of one)
    anywhere: every file it added or changed, of any owner and mode, every file under the mount
    points `volumes`, and /dev/shm (tasks/sandbox/leftovers.py)."""
    values = list(secrets.values())
    if not leftovers.needles(values):
        return
    found = leftovers.files_with_secrets(api, container_id, values, volumes=volumes)
    found += leftovers.shm_files_with_secrets(shell.shm_archive(SETUP_USER), values)
    if found:
        raise SandboxError(
            f"the {what} script left a secret in "
            + ", ".join(found[:5])
            + ("…" if len(found) > 5 else "")
            + "; secrets must not be written to files, also not encoded (they would reach"
            " the agent)"
        )
