"""Encryption at rest for OAuth tokens and store credentials (Fernet, key derived from the secret key)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretDecryptionError(Exception):
    """A stored secret could not be decrypted: the secret key changed or the value was tampered with."""


def _fernet_key(secret_key: str) -> bytes:
    # A fixed, purpose-bound derivation so the same SECRET_KEY can also sign sessions without reusing the raw key.
    digest = hashlib.sha256(b"returnbridge/secretbox/v1\x00" + secret_key.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest)


class SecretBox:
    """Encrypts with the current key; decrypts with the current or any previous key (for key rotation)."""

    def __init__(self, secret_key: str, previous_keys: tuple[str, ...] = ()) -> None:
        if not secret_key:
            raise ValueError("a secret key is required")
        keys = [Fernet(_fernet_key(secret_key))] + [Fernet(_fernet_key(k)) for k in previous_keys if k]
        self._fernet = MultiFernet(keys)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError) as exc:
            raise SecretDecryptionError("stored secret cannot be decrypted with the configured secret key") from exc
