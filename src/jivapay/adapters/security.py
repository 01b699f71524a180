"""Cryptography in one place: password hashing, JWTs, opaque tokens, API keys, secrets at rest."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import secrets
import uuid
from typing import Any

import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet, InvalidToken

from jivapay.domain.errors import ConfigurationError, NotAuthenticated
from jivapay.settings import Settings

API_KEY_KIND = "live"


# --- passwords -------------------------------------------------------------------------


@functools.cache
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID)


def password_hasher(settings: Settings) -> PasswordHasher:
    return _hasher(settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism)


@dataclasses.dataclass(frozen=True, slots=True)
class PasswordCheck:
    ok: bool
    new_hash: str | None = None  # set when the stored hash used older parameters


def hash_password(settings: Settings, password: str) -> str:
    return password_hasher(settings).hash(password)


def verify_password(settings: Settings, stored_hash: str, password: str) -> PasswordCheck:
    hasher = password_hasher(settings)
    try:
        hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return PasswordCheck(ok=False)
    if hasher.check_needs_rehash(stored_hash):
        return PasswordCheck(ok=True, new_hash=hasher.hash(password))
    return PasswordCheck(ok=True)


@functools.cache
def _dummy_hash(time_cost: int, memory_kib: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_kib, parallelism).hash(secrets.token_urlsafe(16))


def burn_password_check(settings: Settings, password: str) -> None:
    """Spend the same time as a real check, so an unknown login is not told apart by timing."""
    dummy = _dummy_hash(settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism)
    verify_password(settings, dummy, password)


# --- access tokens (JWT) -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    role: str
    token_version: int
    expires_at: dt.datetime


def issue_access_token(settings: Settings, *, user_id: int, role: str, token_version: int) -> tuple[str, int]:
    """(token, lifetime in seconds)."""
    now = dt.datetime.now(dt.UTC)
    lifetime = settings.access_token_expire_minutes * 60
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user_id),
        "role": role,
        "ver": token_version,
        "iat": now,
        "nbf": now,
        "exp": now + dt.timedelta(seconds=lifetime),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=settings.jwt_algorithm), lifetime


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """Verify signature (pinned algorithm), issuer, audience and expiry; NotAuthenticated otherwise."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            leeway=5,
        )
        return AccessClaims(
            user_id=int(claims["sub"]),
            role=str(claims["role"]),
            token_version=int(claims["ver"]),
            expires_at=dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC),
        )
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("The access token has expired", reason="token_expired") from None
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        raise NotAuthenticated("The access token is not valid", reason="token_invalid") from None


# --- opaque tokens (refresh tokens, device cookies) ------------------------------------------


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def hash_opaque_token(token: str) -> str:
    """SHA-256 is enough here: the token is 256 random bits, not a password."""
    return hashlib.sha256(token.encode()).hexdigest()


# --- store API keys -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class NewApiKey:
    key: str  # shown to the merchant once
    prefix: str
    key_hash: str


def _api_key_hash(settings: Settings, key: str) -> str:
    return hmac.new(settings.api_key_pepper.encode(), key.encode(), hashlib.sha256).hexdigest()


def api_key_fingerprint(settings: Settings, key: str) -> str:
    """The keyed hash of a presented key (what is stored; safe to keep in memory as a cache key)."""
    return _api_key_hash(settings, key.strip())


def new_api_key(settings: Settings) -> NewApiKey:
    prefix = secrets.token_hex(6)
    key = f"jp_{API_KEY_KIND}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewApiKey(key=key, prefix=prefix, key_hash=_api_key_hash(settings, key))


def api_key_prefix(key: str) -> str | None:
    parts = key.split("_", 3)
    if len(parts) != 4 or parts[0] != "jp" or parts[1] != API_KEY_KIND or len(parts[2]) != 12:
        return None
    return parts[2]


def api_key_matches(settings: Settings, key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(_api_key_hash(settings, key), stored_hash)


# --- secrets at rest (callback signing secrets) --------------------------------------------


def _fernet(settings: Settings) -> Fernet:
    digest = hashlib.sha256(b"jivapay:secrets-at-rest:" + settings.secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_secret(settings: Settings, plaintext: str) -> str:
    return _fernet(settings).encrypt(plaintext.encode()).decode()


def decrypt_secret(settings: Settings, ciphertext: str) -> str:
    try:
        return _fernet(settings).decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise ConfigurationError("a stored secret cannot be decrypted: was SECRET_KEY changed?") from None


def new_signing_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


# argon2 is deliberately slow; run it off the event loop (the C code releases the GIL)


async def hash_password_async(settings: Settings, password: str) -> str:
    return await asyncio.to_thread(hash_password, settings, password)


async def verify_password_async(settings: Settings, stored_hash: str, password: str) -> PasswordCheck:
    return await asyncio.to_thread(verify_password, settings, stored_hash, password)


async def burn_password_check_async(settings: Settings, password: str) -> None:
    await asyncio.to_thread(burn_password_check, settings, password)


def requisite_fingerprint(settings: Settings, number: str) -> str:
    """Keyed hash of a requisite number: finds duplicates without storing the number in the clear."""
    return hmac.new(settings.api_key_pepper.encode(), b"requisite:" + number.encode(), hashlib.sha256).hexdigest()
