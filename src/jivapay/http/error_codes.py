"""The error codes each operation answers, for its description in the API's document ("Errors:
`code` (status), …").

``OPERATION_ERRORS`` lists, per operation id, what the operation's own handler and services can
raise (found by reading them: their checks, lookups and state moves). ``errors_line`` adds what
follows from where the operation lives: ``not_authenticated`` (401) for one that needs
credentials, ``permission_denied`` (403) for a role's cabinet, ``rate_limited`` (429) for every
rate-limited path. What any operation may answer whatever it does is said once, in the
document's description (``ANY_OPERATION``), not on each: a blocked IP, a JSON body that is too
large, not JSON or ambiguous, and the platform's own failures.

A code only a broken invariant could raise (a hold released from an account that lacks it) is
not listed: that is an ``internal_error`` of ours, not an answer to the request.
"""

from __future__ import annotations

import re
from functools import cache

from jivapay.domain.errors import all_error_classes

V = "validation_failed"
N = "not_found"
C = "conflict"
FUNDS = "insufficient_balance"
UNASSIGNED = "order_not_assigned"
STORAGE = "notification_failed"  # a file the object storage did not take
BUSY = "overloaded"  # too many password hashings at once
IDEMPOTENCY = ("idempotency_conflict", "request_in_progress")
LOGIN = (V, "not_authenticated", "login_throttled", BUSY)

# every code an operation's description names, beyond the ones its place adds (see errors_line)
OPERATION_ERRORS: dict[str, tuple[str, ...]] = {
    # --- system and sign-in ---------------------------------------------------------------------
    "health": (),
    "ready": (),  # not ready is a 503 with the checks (ReadyBody), not an error
    "merchant_login": LOGIN,
    "trader_login": LOGIN,
    "teamlead_login": LOGIN,
    "admin_login": LOGIN,
    "support_login": LOGIN,
    "refresh_token": (V, "not_authenticated"),
    "logout": (V,),
    "change_password": (V, BUSY),
    # --- the gateway (a store's API key; the pay-in's status and confirm also an order token) -------
    "gateway_store": (),
    "gateway_payin_init": (V, "duplicate_merchant_order_id", *IDEMPOTENCY),
    "gateway_payin_status": (V, N),
    "gateway_payin_confirm": (V, N, C, UNASSIGNED, *IDEMPOTENCY, STORAGE),
    "gateway_payout_init": (V, C, "duplicate_merchant_order_id", *IDEMPOTENCY, FUNDS),
    "gateway_payout_status": (V, N),
    "gateway_payout_confirm": (V, N, C, UNASSIGNED, *IDEMPOTENCY),
    # --- the merchant cabinet ---------------------------------------------------------------------
    "merchant_me": (),
    "merchant_list_stores": (),
    "merchant_create_store": (V,),
    "merchant_list_api_keys": (N,),
    "merchant_issue_api_key": (V, N),
    "merchant_rotate_api_key": (V, N, C),
    "merchant_revoke_api_key": (N,),
    "merchant_rotate_signing_secret": (V, N),
    "merchant_update_store": (V, N),
    "merchant_store_commissions": (N,),
    "merchant_get_store_settings": (N,),
    "merchant_update_store_settings": (V, N),
    "merchant_set_store_logo": (V, N),
    "merchant_remove_store_logo": (N,),
    "merchant_list_callbacks": (V, N),
    "merchant_get_callback": (N,),
    "merchant_redeliver_callback": (N, C),
    "merchant_test_callback": (V, N),
    "merchant_list_orders": (V, N),
    "merchant_export_orders": (V,),
    "merchant_get_order": (N,),
    "merchant_open_dispute": (V, N, C),
    "merchant_confirm_payout": (N, C, UNASSIGNED),
    "merchant_upload_evidence": (V, N, STORAGE),
    "merchant_balance": (),
    "merchant_balance_history": (V, N),
    "merchant_balance_history_csv": (V, N),
    "merchant_deposit_addresses": (N,),
    "merchant_create_deposit_address": (V, N),
    "merchant_deposit_address_qr": (V, N),
    "merchant_deposits": (V, N),
    "merchant_deposits_csv": (V, N),
    "merchant_create_withdrawal": (V, N, C, FUNDS),
    "merchant_withdrawals": (V, N),
    "merchant_withdrawal": (N,),
    "merchant_cancel_withdrawal": (N, C),
    "merchant_daily_payout": (N,),
    "merchant_set_daily_payout": (V, N),
    # --- the trader cabinet -----------------------------------------------------------------------
    "trader_me": (),
    "trader_balance": (),
    "trader_balance_history": (V,),
    "trader_balance_history_csv": (V,),
    "trader_list_requisites": (V,),
    "trader_create_requisite": (V, C),
    "trader_get_requisite": (N,),
    "trader_update_requisite": (V, N),
    "trader_archive_requisite": (N,),
    "trader_list_orders": (V, N),
    "trader_get_order": (N,),
    "trader_confirm_order": (V, N, C),
    "trader_cancel_order": (V, N, C),
    "trader_set_traffic": (V,),
    "trader_list_receipts": (N,),
    "trader_upload_receipt": (V, N, STORAGE),
    "trader_deposit_addresses": (),
    "trader_create_deposit_address": (V,),
    "trader_deposit_address_qr": (V, N),
    "trader_deposits": (V,),
    "trader_deposits_csv": (V,),
    "trader_create_withdrawal": (V, C, FUNDS),
    "trader_withdrawals": (V,),
    "trader_withdrawal": (N,),
    "trader_cancel_withdrawal": (N, C),
    # --- the team lead ----------------------------------------------------------------------------
    "teamlead_me": (),
    "teamlead_list_traders": (),
    "teamlead_set_trader_traffic": (V, N),
    "teamlead_trader_stats": (V, N),
    "teamlead_balance": (),
    "teamlead_balance_history": (V,),
    "teamlead_deposit_addresses": (),
    "teamlead_create_deposit_address": (V,),
    "teamlead_deposit_address_qr": (V, N),
    "teamlead_deposits": (V,),
    "teamlead_deposits_csv": (V,),
    "teamlead_create_withdrawal": (V, C, FUNDS),
    "teamlead_withdrawals": (V,),
    "teamlead_withdrawal": (N,),
    "teamlead_cancel_withdrawal": (N, C),
    # --- support ----------------------------------------------------------------------------------
    "support_me": (),
    "support_search_orders": (V, N),
    "support_get_order": (N,),
    "support_add_order_note": (V, N),
    "support_move_order": (V, N, C),
    "support_dispute_queue": (V, N),
    "support_set_dispute_priority": (V, N, C),
    "support_resolve_dispute": (V, N, C),
    "support_upload_evidence": (V, N, STORAGE),
    "support_review_queue": (V, N),
    "support_approve_review": (V, N, C),
    "support_reject_review": (V, N, C),
    # --- admins -----------------------------------------------------------------------------------
    "admin_me": (),
    "admin_list_users": (V,),
    "admin_create_user": (V, C, BUSY),
    "admin_get_user": (N,),
    "admin_update_user": (V, N, C),
    "admin_deactivate_user": (N, C),
    "admin_reset_password": (V, N, BUSY),
    "admin_set_permissions": (V, N, C),
    "admin_user_logins": (V, N),
    "admin_export_user": (N,),
    "admin_anonymize_user": (N, C),
    "admin_list_ip_blocks": (),
    "admin_block_ip": (V,),
    "admin_unblock_ip": (V, N),
    "admin_balances": (),
    "admin_balance_history": (V,),
    "admin_balance_history_csv": (V,),
    "admin_ledger_adjustment": (V, N, C, FUNDS),
    "admin_list_requisites": (V,),
    "admin_create_requisite": (V, N, C),
    "admin_get_requisite": (N,),
    "admin_update_requisite": (V, N),
    "admin_archive_requisite": (N,),
    "admin_reveal_requisite": (V, N),
    "admin_list_rates": (),
    "admin_set_rate": (V,),
    "admin_stats": (V,),
    "admin_stats_csv": (V,),
    "admin_search_orders": (V, N),
    "admin_get_order": (N,),
    "admin_add_order_note": (V, N),
    "admin_move_order": (V, N, C),
    "admin_retry_settlement": (V, N, C),
    "admin_list_settings": (),
    "admin_get_setting": (N,),
    "admin_set_setting": (V,),
    "admin_reset_setting": (N,),
    "admin_list_blocklists": (),
    "admin_add_to_blocklist": (V,),
    "admin_remove_from_blocklist": (V, N),
    "admin_store_commissions": (N,),
    "admin_set_store_commission": (V, N),
    "admin_trader_commissions": (N,),
    "admin_set_trader_commission": (V, N),
    "admin_audit_log": (V,),
    "admin_deposits": (V,),
    "admin_deposits_csv": (V,),
    "admin_wallet_networks": (),
    "admin_wallet_treasury": (),
    "admin_wallet_sweeps": (V,),
    "admin_withdrawals": (V,),
    "admin_withdrawal": (N,),
    "admin_approve_withdrawal": (N, C),
    "admin_reject_withdrawal": (V, N, C),
    "admin_cancel_withdrawal": (V, N, C),
    "admin_daily_payouts_pending": (),
    "admin_approve_daily_payout": (N,),
}

# what any operation may answer, whatever it does (the document's description says it once)
ANY_OPERATION = (
    "Besides the error codes each operation lists, any one may answer `ip_blocked` (403: too many "
    "failed requests from the address), one that takes a JSON body `payload_too_large` (413), "
    "`unsupported_media_type` (415) and `invalid_body` (422: nested too deep, a key twice), and any "
    "`internal_error` (500), `database_unavailable` or `cache_unavailable` (503; safe to retry)."
)

_ROLE_CABINET = re.compile(r"^/(merchant|trader|teamlead|admin|support)/")
_NOT_LIMITED = frozenset({"/health", "/ready"})  # ratelimit.UNLIMITED_PATHS that are operations
# codes the HTTP layer answers itself (not a JivaPayError): Litestar's and the rate limiter's
_HTTP_CODES = {"ip_blocked": 403}


@cache
def code_statuses() -> dict[str, int]:
    """Every error code the API answers, with its HTTP status."""
    from jivapay.http import body_guard  # noqa: F401 - its errors are JivaPayErrors too

    return {cls.code: cls.status_code for cls in all_error_classes()} | _HTTP_CODES


def operation_codes(operation_id: str, path: str, *, secured: bool) -> list[str]:
    """The codes the operation at ``path`` answers, by status then name; none for an operation
    ``OPERATION_ERRORS`` does not know (tests/unit/test_openapi.py holds it to every one)."""
    if operation_id not in OPERATION_ERRORS:
        return []
    codes = set(OPERATION_ERRORS[operation_id])
    if secured:
        codes.add("not_authenticated")
        if _ROLE_CABINET.match(path):
            codes.add("permission_denied")
    if path not in _NOT_LIMITED:
        codes.add("rate_limited")
    statuses = code_statuses()
    return sorted(codes, key=lambda code: (statuses[code], code))


def errors_line(operation_id: str, path: str, *, secured: bool) -> str:
    """ "Errors: `code` (status), …." — empty when the operation answers none."""
    codes = operation_codes(operation_id, path, secured=secured)
    if not codes:
        return ""
    statuses = code_statuses()
    return "Errors: " + ", ".join(f"`{code}` ({statuses[code]})" for code in codes) + "."
