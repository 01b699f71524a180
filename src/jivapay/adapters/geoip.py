"""GeoIP lookups for login history, from a MaxMind GeoIP2/GeoLite2 database file."""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import threading
from typing import Any

import geoip2.database
import geoip2.errors
import maxminddb.errors

from jivapay.settings import Settings

log = logging.getLogger("jivapay.geoip")


@dataclasses.dataclass(frozen=True, slots=True)
class GeoLocation:
    country_code: str | None
    country: str | None
    city: str | None


class GeoIPLookup:
    """Opens the database once, lazily; every failure is "no location", never an error."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._reader: Any = None
        self._broken = False
        self._lock = threading.Lock()

    def _open(self) -> Any:
        if self._reader is None and not self._broken and self.path:
            with self._lock:
                if self._reader is None and not self._broken:
                    try:
                        self._reader = geoip2.database.Reader(self.path)
                    except (OSError, ValueError, maxminddb.errors.InvalidDatabaseError) as exc:
                        self._broken = True
                        log.warning(
                            "GeoIP database unusable; logins are stored without location",
                            extra={"path": self.path, "error": repr(exc)},
                        )
        return self._reader

    def lookup(self, ip: str) -> GeoLocation | None:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        if not address.is_global:
            return None
        reader = self._open()
        if reader is None:
            return None
        try:
            try:
                found = reader.city(str(address))
                city = found.city.name
            except TypeError:  # a Country database
                found = reader.country(str(address))
                city = None
        except (geoip2.errors.AddressNotFoundError, ValueError):
            return None
        except Exception as exc:  # noqa: BLE001 - a damaged file must not break logins
            log.warning("GeoIP lookup failed", extra={"error": repr(exc)})
            return None
        return GeoLocation(country_code=found.country.iso_code, country=found.country.name, city=city)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


_lookups: dict[str | None, GeoIPLookup] = {}


def get_geoip(settings: Settings) -> GeoIPLookup:
    lookup = _lookups.get(settings.geoip_db_path)
    if lookup is None:
        lookup = _lookups[settings.geoip_db_path] = GeoIPLookup(settings.geoip_db_path)
    return lookup
