"""Encryption at rest for secrets and tokens (Fernet: AES-128-CBC + HMAC-SHA256).

The key is FIELD_ENCRYPTION_KEY when set, else derived from SECRET_KEY with HKDF, so an
install that never set one still never stores a secret in clear text.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class DecryptionError(ValueError):
    """Stored ciphertext could not be decrypted (the key changed, or the data is corrupt)."""


@lru_cache(maxsize=4)
def _fernet(secret: str, explicit_key: str) -> Fernet:
    if explicit_key:
        return Fernet(explicit_key.encode())
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"codexweb-fields", info=b"fernet"
    ).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _current() -> Fernet:
    return _fernet(settings.SECRET_KEY, settings.FIELD_ENCRYPTION_KEY)


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _current().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("stored secret cannot be decrypted with the current key") from exc
