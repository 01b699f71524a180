"""CORS_ALLOW_ORIGINS and FORWARDED_ALLOW_IPS: closed by default, parsed, validated."""

from __future__ import annotations

import pytest

from jivapay.domain.errors import ConfigurationError
from jivapay.settings import load_settings


def test_cors_and_proxies_are_closed_by_default_in_every_environment() -> None:
    for environment in ("development", "test", "production"):
        env = {"JIVAPAY_ENV": environment, "SECRET_KEY": "k" * 40, "API_KEY_PEPPER": "p" * 40}
        env["WALLET_MNEMONIC"] = " ".join(["word"] * 12)  # only counted here; the key provider checks the words
        settings = load_settings(env, env_file=None)
        assert settings.cors_allow_origins == ()
        assert settings.forwarded_allow_ips == ()


def test_lists_are_comma_separated_and_trimmed() -> None:
    settings = load_settings(
        {
            "CORS_ALLOW_ORIGINS": " https://shop.example , http://localhost:5173,",
            "FORWARDED_ALLOW_IPS": "10.0.0.5, 172.16.0.0/12 ,::1",
        },
        env_file=None,
    )
    assert settings.cors_allow_origins == ("https://shop.example", "http://localhost:5173")
    assert settings.forwarded_allow_ips == ("10.0.0.5", "172.16.0.0/12", "::1")


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"FORWARDED_ALLOW_IPS": "nginx"}, "FORWARDED_ALLOW_IPS"),
        ({"FORWARDED_ALLOW_IPS": "10.0.0.1,*"}, "FORWARDED_ALLOW_IPS"),
        ({"FORWARDED_ALLOW_IPS": "10.0.0.0/33"}, "FORWARDED_ALLOW_IPS"),
        ({"CORS_ALLOW_ORIGINS": "*"}, "CORS_ALLOW_ORIGINS"),
        ({"CORS_ALLOW_ORIGINS": "https://*.shop.example"}, "CORS_ALLOW_ORIGINS"),
        ({"CORS_ALLOW_ORIGINS": "shop.example"}, "CORS_ALLOW_ORIGINS"),
        ({"CORS_ALLOW_ORIGINS": "https://shop.example/"}, "CORS_ALLOW_ORIGINS"),
    ],
)
def test_bad_values_name_the_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings(env, env_file=None)
    assert info.value.message.startswith(key)
    assert info.value.details["key"] == key
