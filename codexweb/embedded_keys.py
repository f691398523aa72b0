"""Keys an embedded install makes for itself: random, generated once, kept in var/.

Without them every `make run` install signed sessions with the same public default SECRET_KEY
and encrypted repository secrets with a key derived from it, so anyone could forge a session
cookie or decrypt a copied database. Production mode never gets here: it requires an explicit
SECRET_KEY (codexweb/settings.py).

An install that already stored secrets under the old derived key keeps reading them: when the
key files are first created next to an existing database, a marker file says so and the old
key stays accepted for decryption only (codexweb/crypto.py); new secrets use the new key.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# The SECRET_KEY every install used to share; production mode refuses it.
LEGACY_DEFAULT_SECRET_KEY = "insecure-dev-key-change-me"  # noqa: S105 - public by design
SECRET_KEY_FILE = "secret-key"  # noqa: S105 - a file name
FIELD_KEY_FILE = "field-encryption-key"
LEGACY_MARKER_FILE = "field-encryption-legacy-default"


@dataclass(frozen=True)
class EmbeddedKeys:
    secret_key: str
    field_encryption_key: str  # "" when FIELD_ENCRYPTION_KEY came from the environment
    accept_legacy_field_key: bool


def kept_secret(path: Path, make: Callable[[], str]) -> str:
    """The value stored at `path`, created with `make()` (mode 0600) when there is none.

    Several processes start at once (migrate, the worker, daphne); the file is written aside
    and linked into place, so all of them end up reading the same value."""
    with contextlib.suppress(FileNotFoundError):
        value = path.read_text().strip()
        if value:
            return value
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make() + "\n")
        with contextlib.suppress(FileExistsError):  # another process was first: use its value
            os.link(staging, path)
    finally:
        os.unlink(staging)
    return path.read_text().strip()


def _new_fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def embedded_keys(var_dir: Path, *, field_key_from_env: str, has_data: bool) -> EmbeddedKeys:
    """SECRET_KEY and FIELD_ENCRYPTION_KEY for an embedded install without a SECRET_KEY.

    `has_data`: an install existed before these files (its database is there), so secrets it
    stored may be encrypted with the key derived from the old public default."""
    secret_key = kept_secret(var_dir / SECRET_KEY_FILE, lambda: secrets.token_urlsafe(50))
    if field_key_from_env:
        return EmbeddedKeys(secret_key, "", accept_legacy_field_key=False)
    field_path = var_dir / FIELD_KEY_FILE
    marker = var_dir / LEGACY_MARKER_FILE
    if not field_path.exists() and has_data:
        kept_secret(marker, lambda: "secrets stored before this install had its own key")
    field_key = kept_secret(field_path, _new_fernet_key)
    return EmbeddedKeys(secret_key, field_key, accept_legacy_field_key=marker.exists())
