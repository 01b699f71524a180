"""The models and the Alembic revisions describe the same schema."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from jivapay.adapters.db.migrations import head_revisions
from jivapay.adapters.db.models import Base


async def test_database_is_at_head(resources: Any) -> None:
    async with resources.engine.connect() as conn:
        applied = set((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
    assert applied == set(head_revisions())
    assert len(head_revisions()) == 1, "migrations must have a single head"


async def test_models_match_migrations(resources: Any) -> None:
    def diff(sync_conn: Any) -> list[Any]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(context, Base.metadata))

    async with resources.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == [], f"models and migrations differ: {differences}"


async def test_tables_every_assignment_changes_are_analyzed_promptly(resources: Any) -> None:
    """Revision 0012: a plan cached while a counters table was small must not outlive its growth
    by more than autovacuum's nap (docs/performance.md); alembic does not compare these."""
    async with resources.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT relname, reloptions FROM pg_class WHERE relname IN "
                "('requisite_open_amounts', 'requisite_daily_usage', 'requisites') AND relkind = 'r'"
            )
        )
        options = {name: set(opts or []) for name, opts in rows}
    assert "autovacuum_analyze_scale_factor=0.02" in options["requisite_open_amounts"]
    assert "autovacuum_analyze_scale_factor=0.02" in options["requisite_daily_usage"]
    assert "autovacuum_vacuum_scale_factor=0.02" in options["requisites"]


async def test_revision_0014_gives_existing_orders_one_reference(test_services: Any) -> None:
    """Existing incoming orders get a random ord_ reference; their assigned orders (a declined one
    beside its successor included) carry the same; an order without an incoming order gets its own."""
    import asyncio
    import re

    from alembic import command
    from sqlalchemy.ext.asyncio import create_async_engine

    from jivapay.adapters.db.engine import async_database_url
    from jivapay.adapters.db.migrations import alembic_config

    await test_services.drop_database("jivapay_test_0014")  # left by an interrupted run
    url = await test_services.create_database("jivapay_test_0014")
    engine = create_async_engine(async_database_url(url))
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "0013")
        async with engine.begin() as conn:
            await conn.execute(text("SET session_replication_role = replica"))  # rows without their parents
            for incoming_id in (1, 2, 3):
                await conn.execute(
                    text(
                        "INSERT INTO incoming_orders (id, store_id, direction, amount, currency, payment_method_id, "
                        "merchant_order_id, status, retry_count, created_at, updated_at) "
                        "VALUES (:id, 1, 'payout', 100, 'RUB', 1, :ref, 'assigned', 0, now(), now())"
                    ),
                    {"id": incoming_id, "ref": f"m-{incoming_id}"},
                )
            for order_id, incoming_id, status in (
                (10, 1, "declined"),
                (11, 1, "pending"),
                (12, 2, "pending"),
                (13, None, "completed"),
            ):
                await conn.execute(
                    text(
                        "INSERT INTO order_history (id, store_id, trader_id, direction, status, currency, amount, "
                        "rate, store_commission, trader_commission, incoming_order_id, created_at, updated_at) "
                        "VALUES (:id, 1, 1, 'payout', :status, 'RUB', 100, 90, 0.05, 0.03, :incoming, now(), now())"
                    ),
                    {"id": order_id, "incoming": incoming_id, "status": status},
                )
        await asyncio.to_thread(command.upgrade, alembic_config(url), "0014")
        async with engine.connect() as conn:
            incoming = dict((await conn.execute(text("SELECT id, public_id FROM incoming_orders"))).all())
            orders = dict((await conn.execute(text("SELECT id, public_id FROM order_history"))).all())
    finally:
        await engine.dispose()
        await test_services.drop_database("jivapay_test_0014")
    assert all(re.fullmatch(r"ord_[0-9a-z]{22}", ref) for ref in [*incoming.values(), *orders.values()])
    assert len(set(incoming.values())) == 3
    assert orders[10] == orders[11] == incoming[1]
    assert orders[12] == incoming[2]
    assert orders[13] not in incoming.values()


async def test_revision_0015_masks_personal_data_already_in_the_audit_log(test_services: Any) -> None:
    """Entries written before masking covered every place (lists, unknown keys) are masked in place;
    the append-only trigger is back afterwards."""
    import asyncio
    import json

    import pytest
    from alembic import command
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.ext.asyncio import create_async_engine

    from jivapay.adapters.db.engine import async_database_url
    from jivapay.adapters.db.migrations import alembic_config

    await test_services.drop_database("jivapay_test_0015")
    url = await test_services.create_database("jivapay_test_0015")
    engine = create_async_engine(async_database_url(url))
    entries = {
        1: {"trader_id": 7, "type": "card", "number": "4276160000000019", "owner_name": "Ivan Petrov"},
        2: {"changes": [{"card": "5555 5555 5555 4444"}], "note": "paid to 4111111111111111"},
        3: {"recipient": {"recipient_number": "79161234567", "recipient_name": "Anna Smirnova"}, "amount": "100.00"},
        4: {"number": "4276 **** **** 0019", "owner_name": "Ivan P.", "order_id": "1234567890123"},
    }
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "0014")
        async with engine.begin() as conn:
            for entry_id, details in entries.items():
                await conn.execute(
                    text(
                        "INSERT INTO audit_log (id, actor_type, action, details) "
                        "VALUES (:id, 'system', 'requisite.create', CAST(:details AS jsonb))"
                    ),
                    {"id": entry_id, "details": json.dumps(details)},
                )
        await asyncio.to_thread(command.upgrade, alembic_config(url), "0015")
        async with engine.connect() as conn:
            stored = dict((await conn.execute(text("SELECT id, details FROM audit_log"))).all())
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE audit_log SET action = 'x' WHERE id = 1"))
    finally:
        await engine.dispose()
        await test_services.drop_database("jivapay_test_0015")
    assert stored[1] == {"trader_id": 7, "type": "card", "number": "4276 **** **** 0019", "owner_name": "Ivan P."}
    assert stored[2]["changes"] == [{"card": "5555 **** **** 4444"}]
    assert stored[2]["note"] == "paid to 4111111111111111"  # free text is not parsed; new entries never hold it
    assert stored[3]["recipient"] == {"recipient_number": "*******4567", "recipient_name": "Anna S."}
    assert stored[4] == entries[4]  # already masked; a 13-digit id failing Luhn stays


async def test_revision_0016_carries_store_and_trader_commissions_over_and_back(test_services: Any) -> None:
    """Both twins' rows land in ``commissions`` under their owner (a store and a trader with the
    same id side by side), timestamps kept; the downgrade gives the twins back the same rows; the
    owner's foreign key still refuses an unknown owner and takes the rates with a deleted store."""
    import asyncio
    import datetime as dt
    from decimal import Decimal

    import pytest
    from alembic import command
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.ext.asyncio import create_async_engine

    from jivapay.adapters.db.engine import async_database_url
    from jivapay.adapters.db.migrations import alembic_config

    await test_services.drop_database("jivapay_test_0016")
    url = await test_services.create_database("jivapay_test_0016")
    engine = create_async_engine(async_database_url(url))
    created = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
    updated = dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.UTC)
    store_rows = {
        (5, "payin", None, Decimal("0.060000")),
        (5, "payin", 3, Decimal("0.055000")),
        (5, "payout", None, Decimal("0.040000")),
    }
    trader_rows = {(5, "payin", None, Decimal("0.030000")), (5, "payin", 3, Decimal("0.025000"))}
    twins = "SELECT {owner}, direction, payment_method_id, rate, created_at, updated_at FROM {table}"
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "0015")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO users (id, login, password_hash, role) "
                    "VALUES (1, 'merchant', '!', 'merchant'), (5, 'trader', '!', 'trader')"
                )
            )
            await conn.execute(text("INSERT INTO stores (id, merchant_id, name) VALUES (5, 1, 'shop')"))
            await conn.execute(text("INSERT INTO payment_methods (id, code, name) VALUES (3, 'card', 'Card')"))
            for table, owner, rows in (
                ("store_commissions", "store_id", store_rows),
                ("trader_commissions", "trader_id", trader_rows),
            ):
                for owner_id, direction, method, rate in rows:
                    await conn.execute(
                        text(
                            f"INSERT INTO {table} ({owner}, direction, payment_method_id, rate, created_at, "
                            "updated_at) VALUES (:owner_id, :direction, :method, :rate, :created, :updated)"
                        ),
                        {
                            "owner_id": owner_id,
                            "direction": direction,
                            "method": method,
                            "rate": rate,
                            "created": created,
                            "updated": updated,
                        },
                    )
        await asyncio.to_thread(command.upgrade, alembic_config(url), "0016")
        async with engine.connect() as conn:
            carried = set(
                (
                    await conn.execute(
                        text(
                            "SELECT owner_type, owner_id, direction, payment_method_id, rate, created_at, updated_at, "
                            "store_id, trader_id FROM commissions"
                        )
                    )
                ).all()
            )
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0015")
        async with engine.connect() as conn:
            back_in_stores = set(
                (await conn.execute(text(twins.format(owner="store_id", table="store_commissions")))).all()
            )
            back_in_traders = set(
                (await conn.execute(text(twins.format(owner="trader_id", table="trader_commissions")))).all()
            )
        await asyncio.to_thread(command.upgrade, alembic_config(url), "0016")
        with pytest.raises(IntegrityError, match="fk_commissions_trader_id_users"):
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO commissions (owner_type, owner_id, direction, rate) "
                        "VALUES ('trader', 99, 'payin', 0.01)"
                    )
                )
        with pytest.raises(IntegrityError, match="uq_commissions_scope"):
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO commissions (owner_type, owner_id, direction, rate) "
                        "VALUES ('store', 5, 'payin', 0.01)"
                    )
                )
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM stores WHERE id = 5"))
            left = set((await conn.execute(text("SELECT owner_type, owner_id FROM commissions"))).all())
    finally:
        await engine.dispose()
        await test_services.drop_database("jivapay_test_0016")
    stamps = (created, updated)
    assert carried == {
        *(("store", o, d, m, r, *stamps, o, None) for o, d, m, r in store_rows),
        *(("trader", o, d, m, r, *stamps, None, o) for o, d, m, r in trader_rows),
    }
    assert back_in_stores == {(*row, *stamps) for row in store_rows}
    assert back_in_traders == {(*row, *stamps) for row in trader_rows}
    assert left == {("trader", 5)}
