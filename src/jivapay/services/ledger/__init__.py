"""The one posting function, holds and settlement, balances, commissions, owners and the auditor."""
