"""Secrets at rest during a SECRET_KEY rotation: old keys read, only the current key writes or signs."""

from __future__ import annotations

import uuid

import pytest

from jivapay.adapters.security import (
    decode_access_token,
    decrypt_secret,
    encrypt_secret,
    issue_access_token,
    reencrypt_secret,
)
from jivapay.domain.errors import ConfigurationError, NotAuthenticated
from jivapay.settings import Settings, load_settings

OLD = "old-secret-key-0123456789abcdef0123456789ab"
OLDER = "older-secret-key-0123456789abcdef0123456789"
NEW = "new-secret-key-0123456789abcdef0123456789ab"


def _settings(secret_key: str, previous: str = "") -> Settings:
    return load_settings({"SECRET_KEY": secret_key, "SECRET_KEY_PREVIOUS": previous}, env_file=None)


def test_previous_keys_are_a_comma_separated_secret() -> None:
    settings = _settings(NEW, f" {OLD} ,,{OLDER},{OLD},{NEW}")
    assert settings.previous_secret_keys == (OLD, OLDER)  # blanks, repeats and the current key dropped
    assert _settings(NEW).previous_secret_keys == ()
    shown = str(settings.redacted())
    assert OLD not in shown
    assert OLDER not in shown
    assert settings.redacted()["secret_key_previous"] == "***"


def test_any_previous_key_decrypts_and_only_the_current_one_encrypts() -> None:
    rotating = _settings(NEW, f"{OLD},{OLDER}")
    for key in (OLD, OLDER, NEW):
        assert decrypt_secret(rotating, encrypt_secret(_settings(key), "whsec_abc")) == "whsec_abc"
    written = encrypt_secret(rotating, "4276160000000001")
    assert decrypt_secret(_settings(NEW), written) == "4276160000000001"
    with pytest.raises(ConfigurationError):
        decrypt_secret(_settings(OLD), written)


def test_reencrypt_moves_a_ciphertext_to_the_current_key_and_leaves_current_ones() -> None:
    rotating = _settings(NEW, OLD)
    old_ciphertext = encrypt_secret(_settings(OLD), "whsec_abc")
    moved = reencrypt_secret(rotating, old_ciphertext)
    assert moved is not None
    assert decrypt_secret(_settings(NEW), moved) == "whsec_abc"
    assert reencrypt_secret(rotating, moved) is None


def test_a_ciphertext_no_key_reads_is_a_configuration_error_naming_the_setting() -> None:
    lost = encrypt_secret(_settings(OLDER), "4276160000000001")
    with pytest.raises(ConfigurationError, match="SECRET_KEY_PREVIOUS") as info:
        reencrypt_secret(_settings(NEW, OLD), lost)
    assert lost not in info.value.message
    assert "4276" not in info.value.message
    with pytest.raises(ConfigurationError, match="SECRET_KEY_PREVIOUS"):
        decrypt_secret(_settings(NEW, OLD), lost)


def test_access_tokens_signed_with_a_previous_key_are_refused() -> None:
    """A key is often retired because it may have leaked: it must not keep vouching for sessions."""
    token, _ = issue_access_token(_settings(OLD), user_id=1, role="admin", token_version=0, session_id=uuid.uuid4())
    with pytest.raises(NotAuthenticated):
        decode_access_token(_settings(NEW, OLD), token)
    fresh, _ = issue_access_token(
        _settings(NEW, OLD), user_id=1, role="admin", token_version=0, session_id=uuid.uuid4()
    )
    assert decode_access_token(_settings(NEW), fresh).user_id == 1
