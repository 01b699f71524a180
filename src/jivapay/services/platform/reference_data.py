"""Reference data with a Redis cache (seed 000 §3.3 reference_data): exchange rates, banks,
payment methods. A cache outage falls back to the database (reported once, not fatal)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.platform.reference import ReferenceRepository
from jivapay.adapters.db.uow import atomic, on_commit
from jivapay.adapters.memo import Memo
from jivapay.adapters.notifications import report_critical_error
from jivapay.adapters.rates import HttpJsonRateSource, RateSource, RateSourceError
from jivapay.adapters.resources import get_resources
from jivapay.domain import money
from jivapay.domain.errors import NotFound, ValidationFailed
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.platform.audit import log_action
from jivapay.services.platform.config import get_config

log = logging.getLogger("jivapay.reference")
RATE_KEY = "jivapay:rate:{}"
BANK_KEY = "jivapay:ref:bank:{}"
METHOD_KEY = "jivapay:ref:pm:{}"
RATES = Actor.system("rates")


@dataclasses.dataclass(frozen=True, slots=True)
class BankInfo:
    id: int
    code: str
    name: str
    currency: str
    is_active: bool


@dataclasses.dataclass(frozen=True, slots=True)
class PaymentMethodInfo:
    id: int
    code: str
    name: str
    is_active: bool


class _Outage:
    reported = False


async def _cache_get(key: str) -> str | None:
    try:
        value = await get_resources().redis.get(key)
    except Exception as exc:  # noqa: BLE001 - the cache is an optimisation
        if not _Outage.reported:
            _Outage.reported = True
            report_critical_error(exc, "reference cache: Redis unavailable, reading from the database")
        return None
    _Outage.reported = False
    return str(value) if value is not None else None


async def _cache_set(key: str, value: str, ttl: int) -> None:
    with contextlib.suppress(Exception):  # an outage is reported by the read path
        await get_resources().redis.set(key, value, ex=ttl)


async def _cache_drop(*keys: str) -> None:
    try:
        await get_resources().redis.delete(*keys)
    except Exception as exc:  # noqa: BLE001 - a stale entry lives at most its TTL
        report_critical_error(exc, "reference cache: could not invalidate", keys=list(keys))


# The last rate this process read, per currency, for a second: the assignment hot path reads
# the rate hundreds of times a second, and a rate refreshes every few minutes. A change made by
# this process drops it at once; one made elsewhere is seen within LOCAL_RATE_SECONDS.
LOCAL_RATE_SECONDS = 1.0
_local_rates: Memo[str, Decimal] = Memo("reference.local_rates", maxsize=1000, ttl=LOCAL_RATE_SECONDS)


async def get_exchange_rate(currency: str, *, session: AsyncSession | None = None) -> Decimal:
    """Fiat units per 1 USDT. NotFound when no rate is set."""
    currency = currency.upper()
    local = _local_rates.get(currency)
    if local is not None:
        return local
    cached = await _cache_get(RATE_KEY.format(currency))
    if cached is not None:
        _local_rates.set(currency, Decimal(cached))
        return Decimal(cached)
    if session is not None:
        rate = await ReferenceRepository(session).exchange_rate(currency)
    else:
        async with get_resources().session_factory() as own:
            rate = await ReferenceRepository(own).exchange_rate(currency)
    if rate is None:
        raise NotFound(f"No exchange rate for {currency}", currency=currency)
    await _cache_set(
        RATE_KEY.format(currency), str(rate), await get_config("RATE_CACHE_TTL_SECONDS", int, session=session)
    )
    return rate


async def _cached_row(key: str, load: Any, session: AsyncSession | None) -> dict[str, Any] | None:
    cached = await _cache_get(key)
    if cached is not None:
        return dict(json.loads(cached))
    if session is not None:
        row = await load(ReferenceRepository(session))
    else:
        async with get_resources().session_factory() as own:
            row = await load(ReferenceRepository(own))
    if row is None:
        return None
    await _cache_set(key, json.dumps(row), await get_config("REFERENCE_CACHE_TTL_SECONDS", int, session=session))
    return dict(row)


async def get_bank(bank_id: int, *, session: AsyncSession | None = None) -> BankInfo:
    async def load(repo: ReferenceRepository) -> dict[str, Any] | None:
        bank = await repo.bank(bank_id)
        return (
            None
            if bank is None
            else {
                "id": bank.id,
                "code": bank.code,
                "name": bank.name,
                "currency": bank.currency_code,
                "is_active": bank.is_active,
            }
        )

    row = await _cached_row(BANK_KEY.format(bank_id), load, session)
    if row is None:
        raise NotFound("Bank not found", bank_id=bank_id)
    return BankInfo(**row)


async def get_payment_method(method_id: int, *, session: AsyncSession | None = None) -> PaymentMethodInfo:
    async def load(repo: ReferenceRepository) -> dict[str, Any] | None:
        method = await repo.payment_method(method_id)
        return (
            None
            if method is None
            else {"id": method.id, "code": method.code, "name": method.name, "is_active": method.is_active}
        )

    row = await _cached_row(METHOD_KEY.format(method_id), load, session)
    if row is None:
        raise NotFound("Payment method not found", method_id=method_id)
    return PaymentMethodInfo(**row)


async def set_exchange_rate(
    session: AsyncSession,
    currency: str,
    rate: Decimal | str,
    *,
    actor: Actor,
    source: str = "manual",
    ip: str | None = None,
) -> None:
    """Write a rate (audited); caches drop it after the commit, never on a rollback. ``rate`` is
    fiat per USDT (a decimal string from the API), held to the rule of ``domain.money``."""
    currency = currency.upper()
    rate = money.EXCHANGE_RATE.check(rate, field="rate")
    repo = ReferenceRepository(session)
    if not await repo.fiat_currency_exists(currency):
        raise ValidationFailed(f"unknown currency {currency!r}", field="currency")
    old = await repo.exchange_rate(currency)
    await repo.upsert_rate(currency, rate, source, str(actor))
    await log_action(
        session,
        actor,
        "rate.set",
        Target.of("exchange_rate", currency),
        {"old": str(old) if old is not None else None, "new": str(rate), "source": source},
        ip=ip,
    )

    async def invalidate() -> None:
        _local_rates.invalidate(currency)
        await _cache_drop(RATE_KEY.format(currency))

    on_commit(session, invalidate)


async def list_rates(session: AsyncSession) -> list[Any]:
    return list(await ReferenceRepository(session).rates())


async def configured_source() -> RateSource | None:
    url = await get_config("RATE_SOURCE_URL", str)
    if not url:
        return None
    return HttpJsonRateSource(url, await get_config("RATE_SOURCE_FIELD", str))


async def refresh_rates(source: RateSource) -> dict[str, str]:
    """Fetch every configured currency's rate; a jump beyond RATE_MAX_CHANGE is refused and kept."""
    factory = get_resources().session_factory
    async with factory() as session:
        current = {r.currency: Decimal(r.rate) for r in await ReferenceRepository(session).rates()}
    max_change = await get_config("RATE_MAX_CHANGE", Decimal)
    outcome: dict[str, str] = {}
    accepted: dict[str, Decimal] = {}
    for currency, old in sorted(current.items()):
        try:
            new = money.EXCHANGE_RATE.check(await source.fetch(currency), field="rate")
        except (RateSourceError, ValidationFailed) as exc:  # a rate that does not fit is refused, never rounded
            outcome[currency] = f"failed: {exc.message}"
            log.warning("rate source failed", extra={"currency": currency, "error": exc.message})
            continue
        if abs(new - old) / old > max_change:
            outcome[currency] = f"refused: {old} → {new} moves more than {max_change}"
            log.warning("rate change refused", extra={"currency": currency, "old": str(old), "new": str(new)})
            continue
        accepted[currency] = new
        outcome[currency] = f"updated: {new}"
    if accepted:
        async with atomic(factory, name="rates.refresh") as session:
            for currency, rate in accepted.items():
                await set_exchange_rate(session, currency, rate, actor=RATES, source=source.name)
    return outcome
