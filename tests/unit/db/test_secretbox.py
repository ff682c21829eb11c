from __future__ import annotations

import pytest

from returnbridge.db.secretbox import SecretBox, SecretDecryptionError


def test_round_trip_returns_the_plaintext() -> None:
    box = SecretBox("k1")
    assert box.decrypt(box.encrypt("TTP_secret")) == "TTP_secret"


def test_ciphertext_does_not_contain_the_plaintext() -> None:
    assert "TTP_secret" not in SecretBox("k1").encrypt("TTP_secret")


def test_another_key_cannot_decrypt() -> None:
    token = SecretBox("k1").encrypt("TTP_secret")
    with pytest.raises(SecretDecryptionError):
        SecretBox("k2").decrypt(token)


def test_previous_key_still_decrypts_after_rotation() -> None:
    token = SecretBox("old").encrypt("TTP_secret")
    assert SecretBox("new", previous_keys=("old",)).decrypt(token) == "TTP_secret"


def test_tampered_ciphertext_is_refused() -> None:
    box = SecretBox("k1")
    token = box.encrypt("TTP_secret")
    with pytest.raises(SecretDecryptionError):
        box.decrypt(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
