"""The customer's order token is a short-lived JWT of its own audience."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from jivapay.adapters.security import decode_access_token, decode_order_token, issue_access_token, issue_order_token
from jivapay.domain.errors import NotAuthenticated
from jivapay.settings import load_settings

SETTINGS = load_settings({"SECRET_KEY": "order-token-test-key-0123456789abcdef01234"}, env_file=None)


def _reason(token: str) -> str:
    with pytest.raises(NotAuthenticated) as caught:
        decode_order_token(SETTINGS, token)
    return str(caught.value.details["reason"])


def test_it_names_its_store_and_order_and_expires() -> None:
    token = issue_order_token(SETTINGS, store_id=7, incoming_id=42, ttl_seconds=60)
    assert decode_order_token(SETTINGS, token) == (7, 42)
    old = issue_order_token(SETTINGS, store_id=7, incoming_id=42, ttl_seconds=60, now=time.time() - 120)
    assert _reason(old) == "order_token_expired"


def test_forged_tampered_and_foreign_tokens_are_refused() -> None:
    token = issue_order_token(SETTINGS, store_id=7, incoming_id=42, ttl_seconds=60)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert _reason(jwt.encode({**claims, "sub": "43"}, "another-key-0123456789abcdef0123456789ab")) == (
        "order_token_invalid"
    )
    assert _reason(jwt.encode({**claims, "sub": "43"}, None, algorithm="none")) == "order_token_invalid"
    assert _reason(token[:-2] + "xx") == "order_token_invalid"
    assert _reason("not-a-token") == "order_token_invalid"


def test_an_access_token_is_no_order_token_and_the_reverse() -> None:
    access, _ = issue_access_token(SETTINGS, user_id=42, role="merchant", token_version=0, session_id=uuid.uuid4())
    assert _reason(access) == "order_token_invalid"
    order = issue_order_token(SETTINGS, store_id=7, incoming_id=42, ttl_seconds=60)
    with pytest.raises(NotAuthenticated):
        decode_access_token(SETTINGS, order)
