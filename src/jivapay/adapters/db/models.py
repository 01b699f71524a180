"""Every ORM model in one registry: importing this module registers every table on ``Base.metadata``.

Each model lives beside its context's repositories (``adapters/db/<context>/models.py``);
this module is the one place Alembic and code that needs several contexts' tables import from.
"""

from jivapay.adapters.db.base import Base
from jivapay.adapters.db.identity.models import (
    AdminProfile,
    LoginAttempt,
    MerchantProfile,
    RefreshToken,
    SupportProfile,
    TeamleadProfile,
    TraderProfile,
    TrustedDevice,
    User,
)
from jivapay.adapters.db.ledger.models import (
    Account,
    Commission,
    ExchangeRate,
    Hold,
    LedgerEntry,
    LedgerTransaction,
    SettledOrder,
)
from jivapay.adapters.db.merchants.models import (
    CallbackAttempt,
    CallbackEvent,
    IdempotencyKey,
    Store,
    StoreApiKey,
    StoreSigningSecret,
)
from jivapay.adapters.db.orders.models import (
    IncomingOrder,
    OrderDispute,
    OrderHistory,
    OrderStatusChange,
    Receipt,
    Requisite,
    RequisiteDailyUsage,
    RequisiteOpenAmount,
)
from jivapay.adapters.db.platform.models import (
    AuditLogEntry,
    Bank,
    ConfigurationSetting,
    CryptoCurrency,
    FiatCurrency,
    OutboxMessage,
    PaymentMethod,
    Role,
)
from jivapay.adapters.db.staff.models import (
    OrderDailyStats,
    OrderNote,
    RollupWatermark,
)
from jivapay.adapters.db.wallet.models import (
    ChainCursor,
    Deposit,
    HotWalletNonce,
    ScannedBlock,
    Sweep,
    WalletAddress,
    Withdrawal,
    WithdrawalAttempt,
)

__all__ = [
    "Account",
    "AdminProfile",
    "AuditLogEntry",
    "Bank",
    "Base",
    "CallbackAttempt",
    "CallbackEvent",
    "ChainCursor",
    "Commission",
    "ConfigurationSetting",
    "CryptoCurrency",
    "Deposit",
    "ExchangeRate",
    "FiatCurrency",
    "Hold",
    "HotWalletNonce",
    "IdempotencyKey",
    "IncomingOrder",
    "LedgerEntry",
    "LedgerTransaction",
    "LoginAttempt",
    "MerchantProfile",
    "OrderDailyStats",
    "OrderDispute",
    "OrderHistory",
    "OrderNote",
    "OrderStatusChange",
    "OutboxMessage",
    "PaymentMethod",
    "Receipt",
    "RefreshToken",
    "Requisite",
    "RequisiteDailyUsage",
    "RequisiteOpenAmount",
    "Role",
    "RollupWatermark",
    "ScannedBlock",
    "SettledOrder",
    "Store",
    "StoreApiKey",
    "StoreSigningSecret",
    "SupportProfile",
    "Sweep",
    "TeamleadProfile",
    "TraderProfile",
    "TrustedDevice",
    "User",
    "WalletAddress",
    "Withdrawal",
    "WithdrawalAttempt",
]
