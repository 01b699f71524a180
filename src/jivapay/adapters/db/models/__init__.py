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
from jivapay.adapters.db.models.ledger import (
    Account,
    ExchangeRate,
    Hold,
    LedgerEntry,
    LedgerTransaction,
    SettledOrder,
    StoreCommission,
    TraderCommission,
)
from jivapay.adapters.db.models.orders import (
    IncomingOrder,
    OrderHistory,
    Requisite,
    RequisiteDailyUsage,
    RequisiteOpenAmount,
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
    "Account",
    "AdminProfile",
    "AuditLogEntry",
    "Bank",
    "Base",
    "ConfigurationSetting",
    "CryptoCurrency",
    "ExchangeRate",
    "FiatCurrency",
    "Hold",
    "IncomingOrder",
    "LedgerEntry",
    "LedgerTransaction",
    "LoginAttempt",
    "MerchantProfile",
    "OrderHistory",
    "OutboxMessage",
    "PaymentMethod",
    "RefreshToken",
    "Requisite",
    "RequisiteDailyUsage",
    "RequisiteOpenAmount",
    "Role",
    "SettledOrder",
    "Store",
    "StoreApiKey",
    "StoreCommission",
    "StoreSigningSecret",
    "SupportProfile",
    "TeamleadProfile",
    "TraderCommission",
    "TraderProfile",
    "TrustedDevice",
    "User",
]
