from __future__ import annotations

from pathlib import Path

from jivapay.adapters.geoip import GeoIPLookup, GeoLocation
from tests.fixtures.geoip import build_city_mmdb


def test_lookup_finds_country_and_city(tmp_path: Path) -> None:
    db = build_city_mmdb(tmp_path / "city.mmdb", {"81.2.69.0/24": ("NL", "Netherlands", "Amsterdam")})
    lookup = GeoIPLookup(str(db))
    assert lookup.lookup("81.2.69.142") == GeoLocation("NL", "Netherlands", "Amsterdam")
    assert lookup.lookup("8.8.8.8") is None  # not in the database
    assert lookup.lookup("10.0.0.1") is None  # private
    assert lookup.lookup("not an ip") is None
    lookup.close()


def test_no_database_or_a_broken_one_means_no_location(tmp_path: Path) -> None:
    assert GeoIPLookup(None).lookup("81.2.69.142") is None
    assert GeoIPLookup(str(tmp_path / "missing.mmdb")).lookup("81.2.69.142") is None
    corrupt = tmp_path / "corrupt.mmdb"
    corrupt.write_bytes(b"this is not a database")
    assert GeoIPLookup(str(corrupt)).lookup("81.2.69.142") is None
