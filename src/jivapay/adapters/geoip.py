"""GeoIP lookups for login history, from a MaxMind GeoIP2/GeoLite2 (or compatible) database file.

A location is a nice-to-have: no database, an unreadable file, a private address or an
address the database does not know all mean "no location" (``None``), never an error.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import threading

import geoip2.database
import geoip2.errors
import geoip2.models

from jivapay.settings import Settings

log = logging.getLogger("jivapay.geoip")

# Addresses no GeoIP database can place. Documentation ranges (TEST-NET-1/2/3) are not
# listed on purpose: real databases never contain them, and tests build databases that do.
_LOCAL_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)


@dataclasses.dataclass(frozen=True, slots=True)
class GeoLocation:
    country_code: str | None
    country: str | None
    city: str | None


def _public_address(ip: str) -> str | None:
    """``ip`` normalised when it is a valid address a database could know, else ``None``."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in net for net in _LOCAL_NETWORKS):
        return None
    return str(address)


class GeoIPLookup:
    """Opens the database once, lazily, and answers lookups; every failure is "no location"."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._reader: geoip2.database.Reader | None = None
        self._unusable = False  # opening failed: don't try again, don't warn again
        self._warned = False
        self._country_only = False  # a Country database: city() raises TypeError
        self._lock = threading.Lock()

    def _warn_once(self, message: str, exc: BaseException) -> None:
        if not self._warned:
            self._warned = True
            log.warning(message, extra={"path": self.path, "error": type(exc).__name__, "detail": str(exc)})

    def _get_reader(self) -> geoip2.database.Reader | None:
        if self._reader is not None or self._unusable or not self.path:
            return self._reader
        with self._lock:
            if self._reader is None and not self._unusable:
                try:
                    self._reader = geoip2.database.Reader(self.path, mode=geoip2.database.MODE_AUTO)
                except Exception as exc:  # noqa: BLE001 - missing, unreadable or not an mmdb file
                    self._unusable = True
                    self._warn_once("GeoIP database cannot be opened; logins are stored without location", exc)
        return self._reader

    def lookup(self, ip: str) -> GeoLocation | None:
        address = _public_address(ip)
        if address is None:
            return None
        reader = self._get_reader()
        if reader is None:
            return None
        try:
            found: geoip2.models.Country
            city: str | None = None
            if self._country_only:
                found = reader.country(address)
            else:
                try:
                    found = reader.city(address)
                    city = found.city.name
                except TypeError:  # geoip2 refuses city() on a Country database
                    self._country_only = True
                    found = reader.country(address)
        except (geoip2.errors.AddressNotFoundError, ValueError):
            return None
        except Exception as exc:  # noqa: BLE001 - a damaged file must never break a login
            self._warn_once("GeoIP lookup failed; logins are stored without location", exc)
            return None
        country = found.country
        if country.iso_code is None and country.name is None and city is None:
            return None
        return GeoLocation(country_code=country.iso_code, country=country.name, city=city)

    def close(self) -> None:
        with self._lock:
            reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()


_lookups: dict[str | None, GeoIPLookup] = {}
_lookups_lock = threading.Lock()


def get_geoip(settings: Settings) -> GeoIPLookup:
    """The process-wide lookup for ``settings.geoip_db_path`` (the file is opened once)."""
    path = settings.geoip_db_path or None
    with _lookups_lock:
        lookup = _lookups.get(path)
        if lookup is None:
            lookup = _lookups[path] = GeoIPLookup(path)
        return lookup
