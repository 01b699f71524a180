"""All ORM models; importing this package registers every table on ``Base.metadata``."""

from jivapay.adapters.db.models.base import Base
from jivapay.adapters.db.models.identity import (
    AdminProfile,
    LoginAttempt,
    MerchantProfile,
    RefreshToken,
    Store,
    StoreApiKey,
    StoreSigningSecret,
    SupportProfile,
    TeamleadProfile,
    TraderProfile,
    TrustedDevice,
    User,
)
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
    "AdminProfile",
    "AuditLogEntry",
    "Bank",
    "Base",
    "ConfigurationSetting",
    "CryptoCurrency",
    "FiatCurrency",
    "LoginAttempt",
    "MerchantProfile",
    "OutboxMessage",
    "PaymentMethod",
    "RefreshToken",
    "Role",
    "Store",
    "StoreApiKey",
    "StoreSigningSecret",
    "SupportProfile",
    "TeamleadProfile",
    "TraderProfile",
    "TrustedDevice",
    "User",
]
