from __future__ import annotations

import logging
from pathlib import Path

import pytest

from jivapay.adapters.geoip import GeoIPLookup, GeoLocation, get_geoip
from jivapay.settings import load_settings
from tests.fixtures.geoip import build_city_mmdb, build_country_mmdb

NETWORKS = {
    "203.0.113.0/24": ("NL", "Netherlands", "Amsterdam"),
    "2001:db8:1::/48": ("DE", "Germany", "Berlin"),
}


@pytest.fixture
def city_db(tmp_path: Path) -> Path:
    return build_city_mmdb(tmp_path / "city.mmdb", NETWORKS)


def test_lookup_finds_country_and_city(city_db: Path) -> None:
    lookup = GeoIPLookup(str(city_db))
    try:
        assert lookup.lookup("203.0.113.7") == GeoLocation("NL", "Netherlands", "Amsterdam")
        assert lookup.lookup(" 203.0.113.200 ") == GeoLocation("NL", "Netherlands", "Amsterdam")
        assert lookup.lookup("::ffff:203.0.113.7") == GeoLocation("NL", "Netherlands", "Amsterdam")
        assert lookup.lookup("2001:db8:1::42") == GeoLocation("DE", "Germany", "Berlin")
    finally:
        lookup.close()


@pytest.mark.parametrize(
    "ip",
    [
        "198.51.100.1",  # not in the database
        "2001:db8:2::1",  # not in the database
        "10.0.0.1",
        "192.168.1.10",
        "172.16.5.4",
        "127.0.0.1",
        "169.254.1.1",
        "100.64.0.1",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:10.0.0.1",
        "0.0.0.0",
        "not an ip",
        "",
        "203.0.113.999",
    ],
)
def test_unknown_private_or_invalid_addresses_have_no_location(city_db: Path, ip: str) -> None:
    lookup = GeoIPLookup(str(city_db))
    try:
        assert lookup.lookup(ip) is None
    finally:
        lookup.close()


def test_a_country_database_gives_the_country_without_a_city(tmp_path: Path) -> None:
    db = build_country_mmdb(tmp_path / "country.mmdb", {"203.0.113.0/24": ("NL", "Netherlands")})
    lookup = GeoIPLookup(str(db))
    try:
        assert lookup.lookup("203.0.113.7") == GeoLocation("NL", "Netherlands", None)
        assert lookup.lookup("203.0.113.8") == GeoLocation("NL", "Netherlands", None)
        assert lookup.lookup("198.51.100.1") is None
    finally:
        lookup.close()


def test_no_database_means_no_location() -> None:
    assert GeoIPLookup(None).lookup("203.0.113.7") is None
    assert GeoIPLookup("").lookup("203.0.113.7") is None


def test_a_missing_or_corrupt_file_means_no_location_and_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="jivapay.geoip")
    missing = GeoIPLookup(str(tmp_path / "missing.mmdb"))
    assert missing.lookup("203.0.113.7") is None
    assert missing.lookup("203.0.113.8") is None

    corrupt_path = tmp_path / "corrupt.mmdb"
    corrupt_path.write_bytes(b"this is not a database" * 100)
    corrupt = GeoIPLookup(str(corrupt_path))
    assert corrupt.lookup("203.0.113.7") is None
    assert corrupt.lookup("203.0.113.8") is None

    warnings = [r for r in caplog.records if r.name == "jivapay.geoip" and r.levelno == logging.WARNING]
    assert len(warnings) == 2  # once per lookup object, not once per call
    missing.close()
    corrupt.close()


def test_close_then_lookup_reopens(city_db: Path) -> None:
    lookup = GeoIPLookup(str(city_db))
    assert lookup.lookup("203.0.113.7") is not None
    lookup.close()
    lookup.close()  # idempotent
    assert lookup.lookup("203.0.113.7") == GeoLocation("NL", "Netherlands", "Amsterdam")
    lookup.close()


def test_get_geoip_is_cached_per_path(city_db: Path, tmp_path: Path) -> None:
    settings = load_settings({}, env_file=None).with_overrides(geoip_db_path=str(city_db))
    first = get_geoip(settings)
    assert get_geoip(settings) is first
    assert first.lookup("203.0.113.7") == GeoLocation("NL", "Netherlands", "Amsterdam")
    other = get_geoip(settings.with_overrides(geoip_db_path=str(tmp_path / "other.mmdb")))
    assert other is not first
    assert get_geoip(settings.with_overrides(geoip_db_path=None)).lookup("203.0.113.7") is None
    first.close()
