"""Reference data and default settings every installation starts with (idempotent)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import (
    Bank,
    CryptoCurrency,
    FiatCurrency,
    PaymentMethod,
    Role,
)
from jivapay.adapters.db.platform.config import ConfigurationRepository
from jivapay.adapters.db.platform.reference import ReferenceRepository
from jivapay.adapters.db.uow import on_commit
from jivapay.domain.platform.config import DEFAULTS, checked_default
from jivapay.services.platform.config import invalidate_config_cache

log = logging.getLogger("jivapay.seed")

ROLES = [
    {"id": 1, "code": "admin", "name": "Administrator"},
    {"id": 2, "code": "merchant", "name": "Merchant"},
    {"id": 3, "code": "trader", "name": "Trader"},
    {"id": 4, "code": "teamlead", "name": "Team lead"},
    {"id": 5, "code": "support", "name": "Support"},
]
FIAT_CURRENCIES = [
    {"code": "RUB", "name": "Russian ruble", "minor_units": 2},
    {"code": "KZT", "name": "Kazakhstani tenge", "minor_units": 2},
    {"code": "UZS", "name": "Uzbekistani som", "minor_units": 2},
    {"code": "AZN", "name": "Azerbaijani manat", "minor_units": 2},
    {"code": "USD", "name": "US dollar", "minor_units": 2},
    {"code": "EUR", "name": "Euro", "minor_units": 2},
]
# USDT contracts on the three networks we settle on (mainnet addresses)
CRYPTO_CURRENCIES = [
    {"code": "USDT", "network": "TRC20", "decimals": 6, "contract_address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"},
    {
        "code": "USDT",
        "network": "BEP20",
        "decimals": 18,
        "contract_address": "0x55d398326f99059fF775485246999027B3197955",
    },
    {
        "code": "USDT",
        "network": "ARBITRUM",
        "decimals": 6,
        "contract_address": "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9",
    },
]
BANKS = [
    {"code": "sber", "name": "Sberbank", "currency_code": "RUB"},
    {"code": "tbank", "name": "T-Bank", "currency_code": "RUB"},
    {"code": "alfa", "name": "Alfa-Bank", "currency_code": "RUB"},
    {"code": "vtb", "name": "VTB", "currency_code": "RUB"},
    {"code": "raif", "name": "Raiffeisenbank", "currency_code": "RUB"},
    {"code": "ozon", "name": "Ozon Bank", "currency_code": "RUB"},
    {"code": "kaspi", "name": "Kaspi Bank", "currency_code": "KZT"},
    {"code": "halyk", "name": "Halyk Bank", "currency_code": "KZT"},
    {"code": "uzcard", "name": "Uzcard", "currency_code": "UZS"},
    {"code": "humo", "name": "Humo", "currency_code": "UZS"},
]
PAYMENT_METHODS = [
    {"code": "card", "name": "Card to card"},
    {"code": "sbp", "name": "Fast payments by phone (SBP)"},
    {"code": "account", "name": "Bank account transfer"},
]


async def seed_reference_data(session: AsyncSession) -> dict[str, int]:
    repo = ReferenceRepository(session)
    created = {
        "roles": await repo.insert_missing(Role, ROLES),
        "fiat_currencies": await repo.insert_missing(FiatCurrency, FIAT_CURRENCIES),
        "crypto_currencies": await repo.insert_missing(CryptoCurrency, CRYPTO_CURRENCIES),
        "banks": await repo.insert_missing(Bank, BANKS),
        "payment_methods": await repo.insert_missing(PaymentMethod, PAYMENT_METHODS),
    }
    log.info("reference data seeded", extra={"rows_created": created})
    return created


async def seed_default_config(session: AsyncSession) -> int:
    rows = [
        {
            "key": d.key,
            "value": checked_default(d),
            "value_type": d.value_type,
            "description": d.description,
            "updated_by": "system:seed",
        }
        for d in DEFAULTS
    ]
    created = await ConfigurationRepository(session).insert_missing(rows)
    if created:
        on_commit(session, invalidate_config_cache)
    log.info("default configuration seeded", extra={"rows_created": created})
    return created


async def seed_all(session: AsyncSession) -> dict[str, int]:
    created = await seed_reference_data(session)
    created["configuration_settings"] = await seed_default_config(session)
    return created
