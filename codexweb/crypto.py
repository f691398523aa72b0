"""Encryption at rest for secrets and tokens (Fernet: AES-128-CBC + HMAC-SHA256).

The key is FIELD_ENCRYPTION_KEY when set (an embedded install generates one in var/), else
derived from SECRET_KEY with HKDF, so an install that never set one still never stores a secret
in clear text. An embedded install that stored secrets under the key derived from the old public
default SECRET_KEY still decrypts them (FIELD_ENCRYPTION_ACCEPT_LEGACY_DEFAULT); new ones use the
current key.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import ClassVar

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from codexweb.embedded_keys import LEGACY_DEFAULT_SECRET_KEY


class DecryptionError(ValueError):
    """Stored ciphertext could not be decrypted (the key changed, or the data is corrupt)."""


def _derived(secret: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"codexweb-fields", info=b"fernet"
    ).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


@lru_cache(maxsize=4)
def _fernet(secret: str, explicit_key: str, accept_legacy: bool) -> MultiFernet:
    """Encrypts with the first key; decrypts with any of them."""
    keys = [Fernet(explicit_key.encode()) if explicit_key else _derived(secret)]
    if accept_legacy:
        keys.append(_derived(LEGACY_DEFAULT_SECRET_KEY))
    return MultiFernet(keys)


def _current() -> MultiFernet:
    return _fernet(
        settings.SECRET_KEY,
        settings.FIELD_ENCRYPTION_KEY,
        getattr(settings, "FIELD_ENCRYPTION_ACCEPT_LEGACY_DEFAULT", False),
    )


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _current().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("stored secret cannot be decrypted with the current key") from exc


class Sealed:
    """A model mixin for a row that keeps one secret encrypted in the column `sealed_field`.

    The clear value exists only in memory: `seal()` stores it encrypted, `reveal()` gives it
    back (and raises DecryptionError when the key changed).
    """

    sealed_field: ClassVar[str]

    def seal(self, clear: str) -> None:
        setattr(self, self.sealed_field, encrypt(clear))

    def reveal(self) -> str:
        return decrypt(getattr(self, self.sealed_field))
