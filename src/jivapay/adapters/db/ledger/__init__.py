"""Repositories of the ledger context: accounts and postings, holds, commissions, the money audit."""
