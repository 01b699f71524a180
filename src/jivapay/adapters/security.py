"""Cryptography in one place: password hashing, JWTs, opaque tokens, API keys, secrets at rest."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import os
import secrets
import uuid
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from jivapay.domain.errors import ConfigurationError, NotAuthenticated, Overloaded
from jivapay.settings import Settings

T = TypeVar("T")

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
    session_id: uuid.UUID | None = None  # the login (refresh-token family) the token belongs to


def issue_access_token(
    settings: Settings, *, user_id: int, role: str, token_version: int, session_id: uuid.UUID
) -> tuple[str, int]:
    """(token, lifetime in seconds); ``sid`` names the login session, which logout or reuse ends."""
    now = dt.datetime.now(dt.UTC)
    lifetime = settings.access_token_expire_minutes * 60
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user_id),
        "role": role,
        "ver": token_version,
        "sid": str(session_id),
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
            session_id=uuid.UUID(str(claims["sid"])) if "sid" in claims else None,
        )
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("The access token has expired", reason="token_expired") from None
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        raise NotAuthenticated("The access token is not valid", reason="token_invalid") from None


# --- order tokens (the customer's browser: read and confirm one order) ----------------------
# A JWT of its own audience, so it is never taken as an access token, nor the reverse.
ORDER_TOKEN_AUDIENCE = ":order-token"  # noqa: S105 - an audience suffix, not a secret


def issue_order_token(
    settings: Settings, *, store_id: int, incoming_id: int, ttl_seconds: int, now: float | None = None
) -> str:
    issued = int(now if now is not None else dt.datetime.now(dt.UTC).timestamp())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience + ORDER_TOKEN_AUDIENCE,
        "sub": str(incoming_id),
        "store": store_id,
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    return jwt.encode(claims, settings.secret_key, algorithm="HS256")


def decode_order_token(settings: Settings, token: str) -> tuple[int, int]:
    """(store id, incoming order id); NotAuthenticated when the token is bad, expired or another kind."""
    try:
        claims = jwt.decode(
            token.strip(),
            settings.secret_key,
            algorithms=["HS256"],  # pinned: the token's own header is never trusted
            audience=settings.jwt_audience + ORDER_TOKEN_AUDIENCE,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
        return int(claims["store"]), int(claims["sub"])
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("The order token has expired", reason="order_token_expired") from None
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        raise NotAuthenticated("Invalid order token", reason="order_token_invalid") from None


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


# --- secrets at rest (signing secrets, requisite numbers, pay-out recipients) -----------------
# Encrypted with SECRET_KEY; read with SECRET_KEY or any of SECRET_KEY_PREVIOUS, so a rotation
# can re-encrypt them (`jivapay keys rotate`) while the platform keeps working.

_CANNOT_DECRYPT = (
    "a stored secret cannot be decrypted with SECRET_KEY or SECRET_KEY_PREVIOUS: "
    "was SECRET_KEY changed without keeping the old key in SECRET_KEY_PREVIOUS?"
)


@functools.cache
def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"jivapay:secrets-at-rest:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _readers(settings: Settings) -> MultiFernet:
    """Decrypts with the current key, then each previous one; encrypts with the current key."""
    return MultiFernet([_fernet(settings.secret_key), *(_fernet(key) for key in settings.previous_secret_keys)])


def encrypt_secret(settings: Settings, plaintext: str) -> str:
    return _fernet(settings.secret_key).encrypt(plaintext.encode()).decode()


def decrypt_secret(settings: Settings, ciphertext: str) -> str:
    try:
        return _readers(settings).decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise ConfigurationError(_CANNOT_DECRYPT) from None


def reencrypt_secret(settings: Settings, ciphertext: str) -> str | None:
    """``ciphertext`` encrypted under the current SECRET_KEY, or None when it already is.

    ConfigurationError when neither SECRET_KEY nor SECRET_KEY_PREVIOUS decrypts it.
    """
    token = ciphertext.encode()
    try:
        _fernet(settings.secret_key).decrypt(token)
        return None
    except InvalidToken:
        pass
    try:
        return _readers(settings).rotate(token).decode()
    except InvalidToken:
        raise ConfigurationError(_CANNOT_DECRYPT) from None


def new_signing_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


# argon2 is deliberately slow and memory-hungry; run it off the event loop (the C code releases
# the GIL), at most HASHING_CONCURRENCY at a time per process, with at most HASHING_QUEUE callers
# waiting: a login flood gets 503 overloaded (Retry-After) instead of starving every other request
# of threads and memory.
HASHING_CONCURRENCY = max(1, min(os.cpu_count() or 2, 4))
HASHING_QUEUE = 32


class _HashingGate:
    def __init__(self) -> None:
        self.semaphore = asyncio.Semaphore(HASHING_CONCURRENCY)
        self.waiting = 0


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _HashingGate] = weakref.WeakKeyDictionary()


async def _hash_off_loop(fn: Callable[..., T], *args: Any) -> T:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = _HashingGate()
    if gate.waiting >= HASHING_QUEUE:
        raise Overloaded("Too many sign-ins at once; try again in a moment", retry_after=1)
    gate.waiting += 1
    try:
        await gate.semaphore.acquire()
    finally:
        gate.waiting -= 1
    try:
        return await asyncio.to_thread(fn, *args)
    finally:
        gate.semaphore.release()


async def hash_password_async(settings: Settings, password: str) -> str:
    return await _hash_off_loop(hash_password, settings, password)


async def verify_password_async(settings: Settings, stored_hash: str, password: str) -> PasswordCheck:
    return await _hash_off_loop(verify_password, settings, stored_hash, password)


async def burn_password_check_async(settings: Settings, password: str) -> None:
    await _hash_off_loop(burn_password_check, settings, password)


def requisite_fingerprint(settings: Settings, number: str) -> str:
    """Keyed hash of a requisite number: finds duplicates without storing the number in the clear."""
    return hmac.new(settings.api_key_pepper.encode(), b"requisite:" + number.encode(), hashlib.sha256).hexdigest()
