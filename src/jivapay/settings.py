"""Settings from the environment (and an optional ``.env`` file), typed and validated once.

Secrets and connection strings live here; business parameters that change at run time
live in the ``configuration_settings`` table (see ``services.config``).
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values

from jivapay.domain.errors import ConfigurationError

Environment = Literal["development", "test", "production"]
_INSECURE_DEV_KEY = "dev-insecure-secret-key-change-me-0123456789"
_INSECURE_DEV_PEPPER = "dev-insecure-api-key-pepper-change-me-012345"
_JWT_ALGORITHMS = ("HS256", "HS384", "HS512")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    environment: Environment = "development"
    database_url: str | None = None
    database_pool_size: int = 10
    database_max_overflow: int = 10
    redis_url: str | None = None
    broker_url: str | None = None
    sentry_dsn: str | None = None
    sentry_traces_sample_rate: str = "0"
    secret_key: str = _INSECURE_DEV_KEY
    # comma-separated keys SECRET_KEY replaced: they still decrypt secrets at rest until `jivapay keys rotate`
    secret_key_previous: str = ""
    jwt_algorithm: str = "HS256"
    access_token_expire_minutes: int = 15
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_bucket_name: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"
    host: str = "127.0.0.1"
    port: int = 8000
    api_workers: int = 1  # `jivapay api` processes behind its one port (docs/performance.md, "Sizing")
    worker_processes: int = 2
    worker_threads: int = 4
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = 9191  # 0: no metrics endpoint
    outbox_relay_interval_seconds: int = 1
    outbox_batch_size: int = 100
    data_dir: str = ".jivapay"
    # identity
    jwt_issuer: str = "jivapay"
    jwt_audience: str = "jivapay-api"
    refresh_token_expire_days: int = 30
    api_key_pepper: str = _INSECURE_DEV_PEPPER
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    password_min_length: int = 10
    geoip_db_path: str | None = None
    device_cookie_name: str = "jivapay_device"
    device_cookie_max_age_seconds: int = 31_536_000
    # outgoing e-mail
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "JivaPay <no-reply@jivapay.local>"
    smtp_starttls: str = "true"
    smtp_timeout_seconds: int = 10
    alert_emails: str = ""
    # merchant callbacks: allow private/loopback targets (tests, a local receiver); never in production
    callback_allow_private: str = "false"
    # the address customers reach the API at (the payment page's links); the request's own when unset
    public_url: str | None = None
    # browsers: exact origins allowed to call the API cross-origin (none by default: CORS closed)
    cors_allow_origins: tuple[str, ...] = ()
    # reverse proxies whose X-Forwarded-For/-Proto are believed (none by default, in every environment)
    forwarded_allow_ips: tuple[str, ...] = ()
    # the first admin `jivapay seed` creates when there is none
    initial_admin_login: str = "admin"
    initial_admin_password: str | None = None
    # the wallet: the HD seed every deposit address derives from (BIP39 words; docs/wallet.md)
    wallet_mnemonic: str | None = None
    wallet_mnemonic_passphrase: str = ""
    # `jivapay up` only: run a local anvil chain as the BEP20 network (docs/wallet.md)
    dev_chain: str | None = None

    @property
    def callbacks_may_reach_private(self) -> bool:
        return self.callback_allow_private.lower() == "true"

    @property
    def callback_urls_https_only(self) -> bool:
        """Merchant callback and return URLs must be https (production, unless CALLBACK_ALLOW_PRIVATE)."""
        return self.is_production and not self.callbacks_may_reach_private

    @property
    def previous_secret_keys(self) -> tuple[str, ...]:
        """SECRET_KEY_PREVIOUS as a tuple, in the order written, without blanks, repeats or the current key."""
        keys = (key.strip() for key in self.secret_key_previous.split(","))
        return tuple(dict.fromkeys(key for key in keys if key and key != self.secret_key))

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def effective_broker_url(self) -> str:
        return self.broker_url or self.require_redis_url()

    def require_database_url(self) -> str:
        if not self.database_url:
            raise ConfigurationError(
                "DATABASE_URL is required (postgresql://user:pass@host:5432/db)", key="DATABASE_URL"
            )
        return self.database_url

    def require_redis_url(self) -> str:
        if not self.redis_url:
            raise ConfigurationError("REDIS_URL is required (redis://host:6379/0)", key="REDIS_URL")
        return self.redis_url

    def with_overrides(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def redacted(self) -> dict[str, Any]:
        """The settings with secrets hidden, safe to log."""
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name in _SECRET_FIELDS and value:
                value = "***"
            elif field.name.endswith("_url") and value:
                value = _strip_password(value)
            out[field.name] = value
        return out


_SECRET_FIELDS = {
    "secret_key",
    "secret_key_previous",
    "s3_secret_key",
    "sentry_dsn",
    "api_key_pepper",
    "smtp_password",
    "initial_admin_password",
    "wallet_mnemonic",
    "wallet_mnemonic_passphrase",
}

# env name -> field name; JIVAPAY_* aliases exist where a bare name is too generic
_ENV_NAMES: dict[str, str] = {
    "JIVAPAY_ENV": "environment",
    "DATABASE_URL": "database_url",
    "DATABASE_POOL_SIZE": "database_pool_size",
    "DATABASE_MAX_OVERFLOW": "database_max_overflow",
    "REDIS_URL": "redis_url",
    "BROKER_URL": "broker_url",
    "SENTRY_DSN": "sentry_dsn",
    "SENTRY_TRACES_SAMPLE_RATE": "sentry_traces_sample_rate",
    "SECRET_KEY": "secret_key",
    "SECRET_KEY_PREVIOUS": "secret_key_previous",
    "JWT_ALGORITHM": "jwt_algorithm",
    "ACCESS_TOKEN_EXPIRE_MINUTES": "access_token_expire_minutes",
    "S3_ACCESS_KEY": "s3_access_key",
    "S3_SECRET_KEY": "s3_secret_key",
    "S3_BUCKET_NAME": "s3_bucket_name",
    "S3_ENDPOINT_URL": "s3_endpoint_url",
    "S3_REGION": "s3_region",
    "LOG_LEVEL": "log_level",
    "LOG_FORMAT": "log_format",
    "JIVAPAY_HOST": "host",
    "JIVAPAY_PORT": "port",
    "PUBLIC_URL": "public_url",
    "WORKER_PROCESSES": "worker_processes",
    "WORKER_THREADS": "worker_threads",
    "API_WORKERS": "api_workers",
    "WORKER_METRICS_HOST": "worker_metrics_host",
    "WORKER_METRICS_PORT": "worker_metrics_port",
    "OUTBOX_RELAY_INTERVAL_SECONDS": "outbox_relay_interval_seconds",
    "OUTBOX_BATCH_SIZE": "outbox_batch_size",
    "JIVAPAY_DATA_DIR": "data_dir",
    "JWT_ISSUER": "jwt_issuer",
    "JWT_AUDIENCE": "jwt_audience",
    "REFRESH_TOKEN_EXPIRE_DAYS": "refresh_token_expire_days",
    "API_KEY_PEPPER": "api_key_pepper",
    "ARGON2_TIME_COST": "argon2_time_cost",
    "ARGON2_MEMORY_KIB": "argon2_memory_kib",
    "ARGON2_PARALLELISM": "argon2_parallelism",
    "PASSWORD_MIN_LENGTH": "password_min_length",
    "GEOIP_DB_PATH": "geoip_db_path",
    "DEVICE_COOKIE_NAME": "device_cookie_name",
    "DEVICE_COOKIE_MAX_AGE_SECONDS": "device_cookie_max_age_seconds",
    "SMTP_HOST": "smtp_host",
    "SMTP_PORT": "smtp_port",
    "SMTP_USERNAME": "smtp_username",
    "SMTP_PASSWORD": "smtp_password",
    "SMTP_FROM": "smtp_from",
    "SMTP_STARTTLS": "smtp_starttls",
    "SMTP_TIMEOUT_SECONDS": "smtp_timeout_seconds",
    "ALERT_EMAILS": "alert_emails",
    "CALLBACK_ALLOW_PRIVATE": "callback_allow_private",
    "CORS_ALLOW_ORIGINS": "cors_allow_origins",
    "FORWARDED_ALLOW_IPS": "forwarded_allow_ips",
    "INITIAL_ADMIN_LOGIN": "initial_admin_login",
    "INITIAL_ADMIN_PASSWORD": "initial_admin_password",
    "WALLET_MNEMONIC": "wallet_mnemonic",
    "WALLET_MNEMONIC_PASSPHRASE": "wallet_mnemonic_passphrase",
    "JIVAPAY_DEV_CHAIN": "dev_chain",
}
ENV_NAMES = tuple(_ENV_NAMES)


def _strip_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def _coerce(env_name: str, raw: str, target: Any) -> Any:
    raw = raw.strip()
    if target is int:
        try:
            return int(raw)
        except ValueError:
            raise ConfigurationError(f"{env_name} must be an integer, got {raw!r}", key=env_name) from None
    if target is tuple:  # a comma-separated list
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    return raw or None


def _validate_proxies_and_origins(s: Settings) -> None:
    for entry in s.forwarded_allow_ips:
        try:
            ipaddress.ip_network(entry)  # strict, as uvicorn reads it: an address, or a network without host bits
        except ValueError:
            raise ConfigurationError(
                f"FORWARDED_ALLOW_IPS must list IP addresses or networks, got {entry!r}", key="FORWARDED_ALLOW_IPS"
            ) from None
    for origin in s.cors_allow_origins:
        parts = urlsplit(origin)
        exact = parts.scheme in ("http", "https") and parts.netloc and origin == f"{parts.scheme}://{parts.netloc}"
        if not exact or "*" in origin or "@" in origin or origin != origin.lower():
            raise ConfigurationError(
                f"CORS_ALLOW_ORIGINS must list exact origins like https://shop.example, got {origin!r}",
                key="CORS_ALLOW_ORIGINS",
            )


def _validate_secrets(s: Settings) -> None:
    if s.is_production:
        if s.secret_key == _INSECURE_DEV_KEY:
            raise ConfigurationError("SECRET_KEY is required in production", key="SECRET_KEY")
        if len(s.secret_key) < 32:
            raise ConfigurationError("SECRET_KEY must be at least 32 characters in production", key="SECRET_KEY")
        if s.api_key_pepper == _INSECURE_DEV_PEPPER or len(s.api_key_pepper) < 32:
            raise ConfigurationError(
                "API_KEY_PEPPER is required in production (at least 32 random characters)", key="API_KEY_PEPPER"
            )


def _validate_wallet(s: Settings) -> None:
    if s.is_production and not s.wallet_mnemonic:
        raise ConfigurationError(
            "WALLET_MNEMONIC is required in production (a BIP39 mnemonic: docs/wallet.md)", key="WALLET_MNEMONIC"
        )
    if s.wallet_mnemonic and len(s.wallet_mnemonic.split()) not in (12, 15, 18, 21, 24):
        raise ConfigurationError(
            "WALLET_MNEMONIC must be a BIP39 mnemonic of 12, 15, 18, 21 or 24 words", key="WALLET_MNEMONIC"
        )
    if s.dev_chain not in (None, "anvil"):
        raise ConfigurationError(
            f"JIVAPAY_DEV_CHAIN must be anvil (or unset), got {s.dev_chain!r}", key="JIVAPAY_DEV_CHAIN"
        )
    if s.is_production and s.dev_chain:
        raise ConfigurationError("JIVAPAY_DEV_CHAIN is for development only", key="JIVAPAY_DEV_CHAIN")


def _validate(s: Settings) -> None:
    def bad(key: str, why: str) -> ConfigurationError:
        return ConfigurationError(f"{key} {why}", key=key)

    if s.environment not in ("development", "test", "production"):
        raise bad("JIVAPAY_ENV", f"must be development, test or production, got {s.environment!r}")
    if s.database_url:
        scheme = urlsplit(s.database_url).scheme
        if scheme not in ("postgresql", "postgres", "postgresql+asyncpg"):
            raise bad("DATABASE_URL", f"must be a postgresql:// URL, got scheme {scheme!r}")
    for key, url in (("REDIS_URL", s.redis_url), ("BROKER_URL", s.broker_url)):
        if url:
            scheme = urlsplit(url).scheme
            allowed = ("redis", "rediss", "unix") + (("amqp", "amqps") if key == "BROKER_URL" else ())
            if scheme not in allowed:
                raise bad(key, f"must be one of {', '.join(s + '://' for s in allowed)} URLs, got {scheme!r}")
    if s.public_url:
        parts = urlsplit(s.public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise bad("PUBLIC_URL", f"must be an http(s):// address like https://pay.example.com, got {s.public_url!r}")
    if s.jwt_algorithm not in _JWT_ALGORITHMS:
        raise bad("JWT_ALGORITHM", f"must be one of {', '.join(_JWT_ALGORITHMS)}, got {s.jwt_algorithm!r}")
    if s.access_token_expire_minutes <= 0:
        raise bad("ACCESS_TOKEN_EXPIRE_MINUTES", "must be positive")
    if s.log_level.upper() not in _LOG_LEVELS:
        raise bad("LOG_LEVEL", f"must be one of {', '.join(_LOG_LEVELS)}, got {s.log_level!r}")
    if s.log_format not in ("json", "console"):
        raise bad("LOG_FORMAT", "must be json or console")
    if not 0 < s.port < 65536:
        raise bad("JIVAPAY_PORT", "must be a TCP port (1-65535)")
    if not 0 <= s.worker_metrics_port < 65536:
        raise bad("WORKER_METRICS_PORT", "must be a TCP port (1-65535), or 0 for no metrics endpoint")
    for key, value in (
        ("DATABASE_POOL_SIZE", s.database_pool_size),
        ("API_WORKERS", s.api_workers),
        ("WORKER_PROCESSES", s.worker_processes),
        ("WORKER_THREADS", s.worker_threads),
        ("OUTBOX_RELAY_INTERVAL_SECONDS", s.outbox_relay_interval_seconds),
        ("OUTBOX_BATCH_SIZE", s.outbox_batch_size),
    ):
        if value <= 0:
            raise bad(key, "must be positive")
    try:
        rate = float(s.sentry_traces_sample_rate)
    except ValueError:
        raise bad("SENTRY_TRACES_SAMPLE_RATE", "must be a number between 0 and 1") from None
    if not 0 <= rate <= 1:
        raise bad("SENTRY_TRACES_SAMPLE_RATE", "must be between 0 and 1")
    # OWASP's floor for argon2id: m >= 19 MiB, t >= 2
    if s.argon2_memory_kib < 19_456:
        raise bad("ARGON2_MEMORY_KIB", "must be at least 19456 (19 MiB, OWASP minimum)")
    if s.argon2_time_cost < 2:
        raise bad("ARGON2_TIME_COST", "must be at least 2 (OWASP minimum)")
    if s.argon2_parallelism < 1:
        raise bad("ARGON2_PARALLELISM", "must be positive")
    if s.password_min_length < 8:
        raise bad("PASSWORD_MIN_LENGTH", "must be at least 8")
    for key, flag in (("SMTP_STARTTLS", s.smtp_starttls), ("CALLBACK_ALLOW_PRIVATE", s.callback_allow_private)):
        if flag.lower() not in ("true", "false"):
            raise bad(key, "must be true or false")
    _validate_proxies_and_origins(s)
    _validate_secrets(s)
    _validate_wallet(s)


def load_settings(environ: dict[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
    """Read settings from ``environ`` (default ``os.environ``) over an optional ``.env`` file."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    kwargs: dict[str, Any] = {}
    types = {f.name: f.type for f in dataclasses.fields(Settings)}
    for env_name, field_name in _ENV_NAMES.items():
        if env_name in values:
            target = {"int": int, "tuple[str, ...]": tuple}.get(str(types[field_name]), str)
            coerced = _coerce(env_name, values[env_name], target)
            if coerced is not None:
                kwargs[field_name] = coerced
    if "log_level" in kwargs:
        kwargs["log_level"] = kwargs["log_level"].upper()
    settings = Settings(**kwargs)
    _validate(settings)
    return settings


@functools.cache
def get_settings() -> Settings:
    return load_settings()
