"""Encryption at rest for OAuth tokens.

MultiFernet over ``settings.FIELD_ENCRYPTION_KEYS``: the first key encrypts, every key
decrypts, so a key rotates by putting a new key first and running ``rotate`` (or simply
letting the next token refresh re-encrypt). See
https://cryptography.io/en/latest/fernet/#cryptography.fernet.MultiFernet
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty.")
    try:
        return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])
    except ValueError as e:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS holds an invalid Fernet key: {e}") from e


def fernet() -> MultiFernet:
    # Read the setting on every call (cached per key tuple) so tests can rotate keys.
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    """Ciphertext for ``value``; the empty string stays empty (no token stored)."""
    if not value:
        return ""
    return fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    """Plaintext of ``value``; raises ``InvalidToken`` if no configured key opens it."""
    if not value:
        return ""
    return fernet().decrypt(value.encode()).decode()


def rotate(value: str) -> str:
    """Re-encrypt ``value`` under the first (newest) key."""
    if not value:
        return ""
    return fernet().rotate(value.encode()).decode()


__all__ = ["InvalidToken", "decrypt", "encrypt", "rotate"]
