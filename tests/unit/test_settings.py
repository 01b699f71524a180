from __future__ import annotations

from pathlib import Path

import pytest

from jivapay.domain.errors import ConfigurationError
from jivapay.settings import ENV_NAMES, load_settings


def test_defaults_are_development_without_any_environment() -> None:
    settings = load_settings({}, env_file=None)
    assert settings.environment == "development"
    assert settings.database_url is None
    assert settings.port == 8000
    assert settings.access_token_expire_minutes == 15


def test_values_are_typed() -> None:
    settings = load_settings(
        {"JIVAPAY_PORT": "9001", "ACCESS_TOKEN_EXPIRE_MINUTES": "30", "LOG_LEVEL": "debug"}, env_file=None
    )
    assert settings.port == 9001
    assert settings.access_token_expire_minutes == 30
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"JIVAPAY_PORT": "eighty"}, "JIVAPAY_PORT"),
        ({"JIVAPAY_PORT": "70000"}, "JIVAPAY_PORT"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://localhost"}, "REDIS_URL"),
        ({"BROKER_URL": "kafka://localhost"}, "BROKER_URL"),
        ({"JWT_ALGORITHM": "none"}, "JWT_ALGORITHM"),
        ({"ACCESS_TOKEN_EXPIRE_MINUTES": "0"}, "ACCESS_TOKEN_EXPIRE_MINUTES"),
        ({"LOG_LEVEL": "chatty"}, "LOG_LEVEL"),
        ({"JIVAPAY_ENV": "staging"}, "JIVAPAY_ENV"),
        ({"SENTRY_TRACES_SAMPLE_RATE": "2"}, "SENTRY_TRACES_SAMPLE_RATE"),
        ({"JIVAPAY_ENV": "production"}, "SECRET_KEY"),
        ({"JIVAPAY_ENV": "production", "SECRET_KEY": "short"}, "SECRET_KEY"),
    ],
)
def test_malformed_or_missing_values_name_the_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings(env, env_file=None)
    assert info.value.message.startswith(key)
    assert info.value.details["key"] == key


def test_required_urls_are_named_when_missing() -> None:
    settings = load_settings({}, env_file=None)
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        settings.require_database_url()
    with pytest.raises(ConfigurationError, match="REDIS_URL"):
        settings.require_redis_url()


def test_broker_defaults_to_redis() -> None:
    settings = load_settings({"REDIS_URL": "redis://localhost:6379/0"}, env_file=None)
    assert settings.effective_broker_url == "redis://localhost:6379/0"


def test_dotenv_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("JIVAPAY_PORT=9100\nLOG_LEVEL=WARNING\n")
    settings = load_settings({"LOG_LEVEL": "ERROR"}, env_file=env_file)
    assert settings.port == 9100
    assert settings.log_level == "ERROR"


def test_redacted_hides_secrets() -> None:
    settings = load_settings(
        {"SECRET_KEY": "x" * 40, "DATABASE_URL": "postgresql://app:hunter2@db:5432/jivapay"}, env_file=None
    )
    shown = str(settings.redacted())
    assert "hunter2" not in shown
    assert "x" * 40 not in shown


def test_env_example_lists_every_setting() -> None:
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    names = {line.split("=", 1)[0].lstrip("# ").strip() for line in example.splitlines() if "=" in line}
    missing = set(ENV_NAMES) - names
    assert not missing, f".env.example does not document {sorted(missing)}"
