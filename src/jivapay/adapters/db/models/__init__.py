"""All ORM models; importing this package registers every table on ``Base.metadata``."""

from jivapay.adapters.db.models.base import Base
from jivapay.adapters.db.models.platform import (
    AuditLogEntry,
    ConfigurationSetting,
    OutboxMessage,
)
from jivapay.adapters.db.models.reference import (
    Bank,
    CryptoCurrency,
    FiatCurrency,
    PaymentMethod,
    Role,
)

__all__ = [
    "AuditLogEntry",
    "Bank",
    "Base",
    "ConfigurationSetting",
    "CryptoCurrency",
    "FiatCurrency",
    "OutboxMessage",
    "PaymentMethod",
    "Role",
]
