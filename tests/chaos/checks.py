"""What must hold after a chaos run, read from the database, the callback receiver and the client.

``Snapshot`` reads every table the checks need in one repeatable-read transaction;
``pending_work`` says what the platform still owes (the drain waits for it to reach zero);
``check_all`` returns every violation, per check, each naming the order and what is wrong.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import asyncpg

from jivapay.domain.orders.status import FINAL, OPEN, TRANSITIONS
from jivapay.services.merchants.callbacks import signature
from tests.chaos.load import LoadStats
from tests.chaos.world import World

INITIAL_STATUS = {"payin": "pending_payment", "payout": "pending"}
WAITING = ("pending_payment", "client_confirmed", "pending", "trader_paid")  # the scheduler moves these on time
INCOMING_STATUSES = frozenset({"new", "retrying", "assigned", "failed", "rejected", "review"})
EXPIRY_SWEEP_SECONDS = 30  # the scheduler's orders.expire_overdue period
HOLD_FOR_STATUS = dict.fromkeys(OPEN, "active") | {
    "completed": "captured",
    "canceled": "released",
    "expired": "released",
    "declined": "released",
}


@dataclasses.dataclass
class Snapshot:
    now: dt.datetime
    incoming: dict[int, asyncpg.Record]
    orders: dict[int, asyncpg.Record]
    history: dict[int, list[asyncpg.Record]]
    settlements: dict[int, asyncpg.Record]
    holds: dict[str, asyncpg.Record]
    transactions: list[asyncpg.Record]
    usdt: list[asyncpg.Record]  # per account kind: owner_type, kind, balance
    flows: dict[str, int]  # USDT moved from/to external accounts per transaction kind
    outbox: list[asyncpg.Record]
    events: dict[str, asyncpg.Record]  # by event_id

    @classmethod
    async def read(cls, url: str) -> Snapshot:
        connection = await asyncpg.connect(url, timeout=10)
        try:
            await connection.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
            async with connection.transaction(isolation="repeatable_read", readonly=True):
                now = await connection.fetchval("SELECT now()")
                incoming = await connection.fetch("SELECT * FROM incoming_orders ORDER BY id")
                orders = await connection.fetch("SELECT * FROM order_history ORDER BY id")
                history = await connection.fetch("SELECT * FROM order_status_history ORDER BY order_id, id")
                settlements = await connection.fetch("SELECT * FROM order_settlements")
                holds = await connection.fetch("SELECT * FROM holds")
                transactions = await connection.fetch(
                    "SELECT id, kind, order_id, idempotency_key, created_at FROM ledger_transactions ORDER BY id"
                )
                usdt = await connection.fetch(
                    "SELECT owner_type, kind, sum(balance) AS balance FROM accounts WHERE currency = 'USDT' "
                    "GROUP BY owner_type, kind"
                )
                flows = await connection.fetch(
                    "SELECT t.kind, sum(e.amount) AS amount FROM ledger_entries e "
                    "JOIN accounts a ON a.id = e.account_id JOIN ledger_transactions t ON t.id = e.transaction_id "
                    "WHERE a.currency = 'USDT' AND a.kind = 'external' GROUP BY t.kind"
                )
                outbox = await connection.fetch("SELECT * FROM outbox ORDER BY id")
                events = await connection.fetch("SELECT * FROM callback_events ORDER BY id")
        finally:
            await connection.close()
        grouped: dict[int, list[asyncpg.Record]] = defaultdict(list)
        for row in history:
            grouped[row["order_id"]].append(row)
        return cls(
            now=now,
            incoming={r["id"]: r for r in incoming},
            orders={r["id"]: r for r in orders},
            history=dict(grouped),
            settlements={r["order_id"]: r for r in settlements},
            holds={r["reference"]: r for r in holds},
            transactions=list(transactions),
            usdt=list(usdt),
            flows={r["kind"]: int(r["amount"]) for r in flows},
            outbox=list(outbox),
            events={str(r["event_id"]): r for r in events},
        )

    # --- what is still owed -----------------------------------------------------------
    def unsettled(self) -> list[int]:
        return [o for o, r in self.orders.items() if r["status"] == "completed" and o not in self.settlements]

    def overdue(self, slack: dt.timedelta) -> list[int]:
        return [
            o
            for o, r in self.orders.items()
            if r["status"] in WAITING and r["expires_at"] is not None and r["expires_at"] < self.now - slack
        ]

    def in_processing(self) -> list[int]:
        return [i for i, r in self.incoming.items() if r["status"] in ("new", "retrying")]

    def unsent_outbox(self) -> list[asyncpg.Record]:
        return [r for r in self.outbox if r["sent_at"] is None]

    def pending_events(self) -> list[asyncpg.Record]:
        return [r for r in self.events.values() if r["status"] == "pending"]


def pending_work(snapshot: Snapshot, deadline_slack: float = EXPIRY_SWEEP_SECONDS + 5) -> dict[str, int]:
    """What the platform still has to do on its own; all zero = drained. An order past its deadline
    is owed once ``deadline_slack`` has passed (the scheduler looks every EXPIRY_SWEEP_SECONDS)."""
    return {
        "incoming new/retrying": len(snapshot.in_processing()),
        "outbox unsent": len(snapshot.unsent_outbox()),
        "callbacks pending": len(snapshot.pending_events()),
        "completed unsettled": len(snapshot.unsettled()),
        "open orders past deadline": len(snapshot.overdue(dt.timedelta(seconds=deadline_slack))),
    }


@dataclasses.dataclass
class Drain:
    drained: bool
    seconds: float
    trace: list[tuple[float, dict[str, int]]]  # what was owed, when it changed
    at: dt.datetime | None = None  # the database's clock at the last look: the platform is stopped after it

    def describe(self) -> str:
        head = f"drain {'finished' if self.drained else 'GAVE UP'} after {self.seconds:.0f} s"
        steps = [
            f"{t:.0f}s {', '.join(f'{k} {v}' for k, v in owed.items() if v) or 'nothing'}" for t, owed in self.trace
        ]
        return head + "; owed: " + " → ".join(steps)


async def drain(url: str, within: float, poll: float = 3.0, deadline_slack: float = EXPIRY_SWEEP_SECONDS + 5) -> Drain:
    """Wait (bounded) until nothing is owed, noting what was owed each time it changed."""
    started = time.monotonic()
    trace: list[tuple[float, dict[str, int]]] = []
    at: dt.datetime | None = None
    while True:
        try:
            snapshot = await Snapshot.read(url)
            work, at = pending_work(snapshot, deadline_slack), snapshot.now
        except (OSError, asyncpg.PostgresError) as exc:
            work = {f"database unreachable ({type(exc).__name__})": 1}
        elapsed = time.monotonic() - started
        if not trace or trace[-1][1] != work:
            trace.append((elapsed, work))
        if not any(work.values()) or elapsed > within:
            return Drain(not any(work.values()), elapsed, trace, at)
        await asyncio.sleep(poll)


# --- the checks ------------------------------------------------------------------------


@dataclasses.dataclass
class Findings:
    violations: dict[str, list[str]] = dataclasses.field(default_factory=lambda: defaultdict(list))
    orders: dict[str, set[int]] = dataclasses.field(default_factory=lambda: defaultdict(set))  # check → order ids

    def add(self, check: str, message: str, order_id: int | None = None) -> None:
        self.violations[check].append(message)
        if order_id is not None:
            self.orders[check].add(order_id)

    @property
    def ok(self) -> bool:
        return not any(self.violations.values())


def check_states(s: Snapshot, f: Findings) -> None:
    """Known statuses, consistent links, and a history made only of legal moves."""
    for incoming in s.incoming.values():
        if incoming["status"] not in INCOMING_STATUSES:
            f.add("legal_states", f"incoming {incoming['id']}: unknown status {incoming['status']}")
        if incoming["status"] == "assigned":
            order = s.orders.get(incoming["order_id"]) if incoming["order_id"] else None
            if order is None or order["incoming_order_id"] != incoming["id"]:
                f.add(
                    "legal_states", f"incoming {incoming['id']} is assigned but its order {incoming['order_id']} is not"
                )
    live: Counter[int] = Counter()
    for order in s.orders.values():
        oid, direction, status = order["id"], order["direction"], order["status"]
        if status not in OPEN | FINAL:
            f.add("legal_states", f"order {oid}: unknown status {status}", oid)
        incoming = s.incoming.get(order["incoming_order_id"])
        if incoming is None:
            f.add("legal_states", f"order {oid}: its incoming order {order['incoming_order_id']} is missing", oid)
        elif status != "declined":
            live[incoming["id"]] += 1
            if incoming["order_id"] != oid:
                f.add(
                    "legal_states",
                    f"order {oid} ({status}) belongs to incoming {incoming['id']}, which points at "
                    f"{incoming['order_id']} ({incoming['status']})",
                    oid,
                )
        current = INITIAL_STATUS[direction]
        for change in s.history.get(oid, []):
            if change["from_status"] != current:
                f.add(
                    "legal_states",
                    f"order {oid}: history jumps from {current} to a change from {change['from_status']}",
                    oid,
                )
            if (direction, change["from_status"], change["to_status"]) not in TRANSITIONS:
                f.add(
                    "legal_states",
                    f"order {oid}: illegal move {change['from_status']} → {change['to_status']} by {change['party']}",
                    oid,
                )
            current = change["to_status"]
        if current != status:
            f.add("legal_states", f"order {oid}: status {status} but its history ends at {current}", oid)
    for incoming_id, count in live.items():
        if count > 1:
            f.add("legal_states", f"incoming {incoming_id} has {count} orders that are not declined")


def check_not_stuck(s: Snapshot, f: Findings, *, retry_slack: float, expiry_slack: float) -> None:
    for incoming_id in s.in_processing():
        row = s.incoming[incoming_id]
        if row["next_attempt_at"] < s.now - dt.timedelta(seconds=retry_slack):
            f.add(
                "not_stuck",
                f"incoming {incoming_id} ({row['direction']}) still {row['status']} "
                f"{(s.now - row['next_attempt_at']).total_seconds():.0f} s after its next attempt was due "
                f"(retries {row['retry_count']}, last reason: {row['failure_reason']})",
            )
    for oid in s.overdue(dt.timedelta(seconds=EXPIRY_SWEEP_SECONDS + expiry_slack)):
        order = s.orders[oid]
        late = (s.now - order["expires_at"]).total_seconds()
        f.add(
            "not_stuck",
            f"order {oid} ({order['direction']}) still {order['status']} {late:.0f} s past its deadline",
            oid,
        )
    for oid in s.unsettled():
        order = s.orders[oid]
        age = (s.now - order["completed_at"]).total_seconds() if order["completed_at"] else -1
        f.add("settled", f"order {oid} ({order['direction']}) completed {age:.0f} s ago and was never settled", oid)
    for oid in s.settlements:
        if s.orders[oid]["status"] != "completed":
            f.add("settled", f"order {oid} is settled but {s.orders[oid]['status']}", oid)


BUSINESS_FAILURES = ("requisite_not_found", "insufficient_balance", "limit_exceeded", "fraud")


def check_processing(s: Snapshot, f: Findings) -> None:
    """An incoming order fails only for a business reason (no requisite, no money, a limit, fraud),
    never because processing itself broke — a declined pay-out must find another trader."""
    for incoming in s.incoming.values():
        reason = incoming["failure_reason"] or ""
        if incoming["status"] in ("failed", "rejected") and not reason.startswith(BUSINESS_FAILURES):
            declined = [o["id"] for o in s.orders.values() if o["incoming_order_id"] == incoming["id"]]
            after = f" after order(s) {declined} were declined" if declined else ""
            f.add(
                "processing",
                f"incoming {incoming['id']} ({incoming['direction']}) {incoming['status']}{after}, "
                f"{incoming['retry_count']} attempts: {reason}",
                declined[-1] if declined else None,
            )


def check_holds(s: Snapshot, f: Findings) -> None:
    """Each order's hold matches its status; a store's pay-out funds are not frozen for nothing."""
    for oid, order in s.orders.items():
        hold = s.holds.get(f"order:{oid}")
        wanted = HOLD_FOR_STATUS.get(order["status"])
        if hold is None:
            f.add("holds", f"order {oid} ({order['status']}) has no hold", oid)
        elif wanted is not None and hold["status"] != wanted:
            f.add("holds", f"order {oid} is {order['status']} but its hold is {hold['status']} (want {wanted})", oid)
    for reference, hold in s.holds.items():
        match = re.fullmatch(r"payout-init:(\d+)", reference)
        if match and hold["status"] == "active":
            incoming = s.incoming.get(int(match.group(1)))
            if incoming is None or incoming["status"] not in ("new", "retrying", "review"):
                state = incoming["status"] if incoming else "missing"
                f.add("holds", f"{reference} still frozen while the incoming order is {state}")


def check_ledger_duplicates(s: Snapshot, f: Findings) -> None:
    """Nothing posted twice: every freeze made exactly its hold, every release or capture resolved
    exactly its hold (a hold resolves once), and an order is settled by one transaction."""
    frozen_by = {h["freeze_transaction_id"]: ref for ref, h in s.holds.items()}
    resolved_by = {h["resolve_transaction_id"]: ref for ref, h in s.holds.items() if h["resolve_transaction_id"]}
    settlements: dict[int, list[int]] = defaultdict(list)
    for row in s.transactions:
        kind, tid, oid = row["kind"], row["id"], row["order_id"]
        if kind == "freeze" and tid not in frozen_by:
            f.add("ledger_duplicates", f"freeze #{tid} (order {oid}, {row['idempotency_key']}) made no hold", oid)
        resolving = kind in ("release", "capture", "withdrawal") or kind.startswith("settle")
        if resolving and tid not in resolved_by:
            f.add(
                "ledger_duplicates",
                f"{kind} #{tid} (order {oid}, {row['idempotency_key']}) resolved no hold: a second resolution",
                oid,
            )
        if kind.startswith("settle") and oid is not None:
            settlements[oid].append(tid)
    for oid, ids in settlements.items():
        if len(ids) > 1:
            f.add("ledger_duplicates", f"order {oid} settled {len(ids)} times: transactions {ids}", oid)
        elif s.settlements.get(oid) is not None and s.settlements[oid]["transaction_id"] != ids[0]:
            f.add(
                "ledger_duplicates",
                f"order {oid}: settled by #{ids[0]}, recorded as #{s.settlements[oid]['transaction_id']}",
            )


def check_usdt(s: Snapshot, f: Findings, world: World) -> dict[str, int]:
    """USDT is conserved: what the platform's accounts hold is what came in minus what went out."""
    inside = sum(int(r["balance"]) for r in s.usdt if r["kind"] != "external")
    outside = sum(int(r["balance"]) for r in s.usdt if r["kind"] == "external")
    deposits = -s.flows.get("deposit", 0)
    withdrawals = s.flows.get("withdrawal", 0)
    if deposits != world.deposited_usdt:
        f.add("usdt_conserved", f"the ledger holds {deposits} of deposits, the run deposited {world.deposited_usdt}")
    if inside != deposits - withdrawals:
        f.add("usdt_conserved", f"accounts hold {inside} USDT units, deposits − withdrawals = {deposits - withdrawals}")
    if inside != -outside:
        f.add("usdt_conserved", f"accounts hold {inside} USDT units but the external accounts mirror {-outside}")
    return {"inside": inside, "deposits": deposits, "withdrawals": withdrawals}


def _after(row: asyncpg.Record, moment: dt.datetime | None) -> bool:
    """Written after the drain's last look, while the platform was being stopped: in flight at the
    shutdown (kept in the database for the next start), not lost."""
    return moment is not None and row["created_at"] > moment


def check_outbox(s: Snapshot, f: Findings, drained_at: dt.datetime | None = None) -> None:
    for row in s.outbox:
        if row["sent_at"] is None and row["dead_at"] is None and _after(row, drained_at):
            continue
        if row["dead_at"] is not None:
            f.add("outbox", f"outbox {row['id']} ({row['actor_name']}) is dead: {row['last_error']}")
        elif row["sent_at"] is None:
            f.add("outbox", f"outbox {row['id']} ({row['actor_name']} {row['kwargs']}) never sent: {row['last_error']}")


def check_callbacks(
    s: Snapshot, f: Findings, world: World, received: Iterable[dict[str, Any]], drained_at: dt.datetime | None = None
) -> dict[str, int]:
    """Every event reached the merchant at least once, signed, with one body per event_id; and every
    final status of an order has its event."""
    secrets = {store.id: store.signing_secret for store in world.stores}
    bodies: dict[str, set[bytes]] = defaultdict(set)
    deliveries = torn = 0
    for request in received:
        body = request["body"]
        length = {k.lower(): v for k, v in request["headers"].items()}.get("content-length", "")
        if length.isdigit() and len(body) < int(length):
            torn += 1  # the sender was killed mid-request; the merchant answers nothing useful to it
            continue
        deliveries += 1
        try:
            payload = json.loads(body)
            event_id = str(payload["event_id"])
        except (ValueError, KeyError):
            f.add("callbacks", f"a callback body is not an event: {body[:200]!r}")
            continue
        bodies[event_id].add(body)
        event = s.events.get(event_id)
        if event is None:
            f.add("callbacks", f"the merchant got event {event_id}, which the database does not have")
            continue
        header = {k.lower(): v for k, v in request["headers"].items()}.get("x-jivapay-signature", "")
        stamp = header.split(",")[0].removeprefix("t=")
        expected = signature([secrets[event["store_id"]]], body, int(stamp) if stamp.isdigit() else 0)
        if expected.split(",")[1] not in header.split(",")[1:]:
            f.add("callbacks", f"event {event_id}: bad signature {header!r}")
        if payload != event["payload"]:
            f.add("callbacks", f"event {event_id}: the body differs from the stored payload")
    for event_id, seen in bodies.items():
        if len(seen) > 1:
            f.add("callbacks", f"event {event_id} arrived with {len(seen)} different bodies")
    for event_id, event in s.events.items():
        incoming_id = event["incoming_order_id"]
        if event_id not in bodies and not (event["attempts"] == 0 and _after(event, drained_at)):
            f.add(
                "callbacks",
                f"event {event_id} ({event['type']}, incoming {incoming_id}) never reached the merchant: "
                f"{event['status']} after {event['attempts']} attempt(s), last error {event['last_error']}",
            )
    types: dict[int, set[str]] = defaultdict(set)
    for event in s.events.values():
        types[event["incoming_order_id"]].add(event["type"])
    for order in s.orders.values():
        incoming = s.incoming.get(order["incoming_order_id"])
        wanted = f"{order['direction']}.{order['status']}"
        has_url = incoming is not None and incoming["callback_url"]
        if has_url and order["status"] in FINAL and wanted not in types[order["incoming_order_id"]]:
            f.add("callbacks", f"order {order['id']} is {order['status']} but no {wanted} event exists", order["id"])
    for incoming in s.incoming.values():
        if incoming["callback_url"] and incoming["status"] in ("failed", "rejected"):
            wanted = f"{incoming['direction']}.{incoming['status']}"
            if wanted not in types[incoming["id"]]:
                f.add("callbacks", f"incoming {incoming['id']} is {incoming['status']} but no {wanted} event exists")
    return {
        "events": len(s.events),
        "deliveries": deliveries,
        "duplicates": deliveries - len(bodies),
        "torn": torn,
    }


def reference(row: asyncpg.Record) -> str:
    """An order's id in the API: its public reference where the schema has one, else its row id."""
    public = row.get("public_id")
    return str(public) if public else str(row["id"])


def check_acknowledged(s: Snapshot, f: Findings, stats: LoadStats) -> None:
    """What a party was told succeeded is in the database (nothing acknowledged was lost)."""
    incoming = {reference(row): row for row in s.incoming.values()}
    for ref, lifecycle in stats.lifecycles.items():
        row = incoming.get(ref)
        if row is None or row["merchant_order_id"] != lifecycle.merchant_order_id:
            f.add("acknowledged", f"init of {lifecycle.merchant_order_id} answered {ref}, not in the database")
    reached: dict[int, set[str]] = {oid: {c["to_status"] for c in changes} for oid, changes in s.history.items()}
    traders_orders = {(row["trader_id"], reference(row)): row for row in s.orders.values()}
    for (trader_id, ref), target in stats.trader_acked.items():
        order = traders_orders.get((trader_id, ref))
        if order is None or target not in reached.get(order["id"], set()):
            f.add("acknowledged", f"trader {trader_id} was told order {ref} is {target}; the database never had it")
        elif target in FINAL and order["status"] != target:
            f.add("acknowledged", f"order {ref} was {target} (final) and is now {order['status']}", order["id"])
    for ref in stats.customer_acked:
        row = incoming.get(ref)
        orders = [o for o in s.orders.values() if row is not None and o["incoming_order_id"] == row["id"]]
        if not any("client_confirmed" in reached.get(o["id"], set()) for o in orders):
            f.add("acknowledged", f"the customer's confirmation of {ref} is not in the order's history")


def check_all(
    s: Snapshot,
    world: World,
    stats: LoadStats,
    received: Iterable[dict[str, Any]],
    *,
    retry_slack: float = 30,
    expiry_slack: float = 30,
    drained_at: dt.datetime | None = None,
) -> tuple[Findings, dict[str, Any]]:
    f = Findings()
    check_states(s, f)
    check_not_stuck(s, f, retry_slack=retry_slack, expiry_slack=expiry_slack)
    check_processing(s, f)
    check_holds(s, f)
    check_ledger_duplicates(s, f)
    usdt = check_usdt(s, f, world)
    check_outbox(s, f, drained_at)
    callbacks = check_callbacks(s, f, world, received, drained_at)
    check_acknowledged(s, f, stats)
    return f, {"usdt": usdt, "callbacks": callbacks}


# --- diagnosis ---------------------------------------------------------------------------


def read_logs(paths: Iterable[Path]) -> list[tuple[str, dict[str, Any]]]:
    """(process log name, record) for every JSON line of the platform's logs (others as raw ``msg``)."""
    records: list[tuple[str, dict[str, Any]]] = []
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError
            except ValueError:
                record = {"level": "raw", "msg": line}
            records.append((path.stem, record))
    return records


def error_digest(records: list[tuple[str, dict[str, Any]]], top: int = 15) -> list[tuple[int, str]]:
    """Errors and warnings grouped by logger and message (numbers blanked), most frequent first."""
    groups: Counter[str] = Counter()
    for source, record in records:
        if record.get("level") not in ("error", "critical", "warning"):
            continue
        exc = str(record.get("exc", "")).strip().splitlines()
        detail = exc[-1] if exc else str(record.get("first_error", record.get("error", "")))
        message = re.sub(r"\d+", "N", f"{record.get('level')} {record.get('logger')}: {record.get('msg')} {detail}")
        groups[f"[{source.split('.')[0]}] {message[:240]}"] += 1
    return [(count, message) for message, count in groups.most_common(top)]


def refused_commands(records: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Redis commands the server refused: never an outage, always a bug (a command it does not know)."""
    found: Counter[str] = Counter()
    for source, record in records:
        text = f"{record.get('msg', '')} {record.get('exc', '')}"
        if "ResponseError" in text:
            last = next((line for line in reversed(text.splitlines()) if "ResponseError" in line), text)
            found[f"[{source.split('.')[0]}] {record.get('msg')}: {re.sub(r'[0-9]+', 'N', last.strip())[:300]}"] += 1
    return [f"{count}× {message}" for message, count in found.most_common()]


def explain_request(records: list[tuple[str, dict[str, Any]]], answer: str) -> str:
    """What the API logged for the request an error answer names (by its request_id)."""
    match = re.search(r'"request_id":"([0-9a-f]+)"', answer)
    if match is None:
        return ""
    for source, record in records:
        if record.get("request_id") == match.group(1) and record.get("level") in ("error", "critical"):
            return f"[{source}] {record.get('msg')}: {_exception_line(str(record.get('exc', '')))}"
    return ""


def _exception_line(traceback: str) -> str:
    """The last ``module.Error: message`` line of a traceback (not SQLAlchemy's closing links)."""
    lines = [line for line in traceback.splitlines() if re.match(r"[A-Za-z_][\w.]*: ", line)]
    return lines[-1][:300] if lines else ""


def order_trail(s: Snapshot, records: list[tuple[str, dict[str, Any]]], order_id: int, limit: int = 12) -> str:
    """An order's story: its rows, its status history, its hold, its ledger postings, and its log lines."""
    order = s.orders.get(order_id)
    if order is None:
        return f"order {order_id}: not in the database"
    incoming = s.incoming.get(order["incoming_order_id"])
    lines = [
        f"order {order_id}: {order['direction']} {order['status']}, trader {order['trader_id']}, "
        f"created {order['created_at']:%H:%M:%S}, expires {order['expires_at']}, completed {order['completed_at']}",
        f"  incoming {order['incoming_order_id']}: {incoming['status'] if incoming else '?'} → order "
        f"{incoming['order_id'] if incoming else '?'}, retries {incoming['retry_count'] if incoming else '?'}, "
        f"reason {incoming['failure_reason'] if incoming else '?'}",
    ]
    for change in s.history.get(order_id, []):
        lines.append(
            f"  {change['created_at']:%H:%M:%S} {change['from_status']} → {change['to_status']} by {change['party']}"
        )
    postings = [t for t in s.transactions if t["order_id"] == order_id]
    ids = {t["id"] for t in postings}
    holds = [
        f"{ref} {h['status']}"
        for ref, h in s.holds.items()
        if h["freeze_transaction_id"] in ids or h["resolve_transaction_id"] in ids or ref == f"order:{order_id}"
    ]
    lines.append(f"  holds: {'; '.join(holds) or 'none'}; settled: {order_id in s.settlements}")
    ledger = ", ".join(f"{t['kind']}#{t['id']}" for t in postings)
    lines.append(f"  ledger: {ledger or 'nothing'}")
    outbox = [r for r in s.outbox if r["kwargs"].get("order_id") == order_id]
    for row in outbox:
        lines.append(
            f"  outbox {row['id']} {row['actor_name']}: created {row['created_at']:%H:%M:%S}, sent {row['sent_at']}, "
            f"attempts {row['attempts']}"
        )
    in_message = re.compile(rf"\border_id={order_id}\b")
    matched = [
        (source, r)
        for source, r in records
        if r.get("order_id") == order_id
        or r.get("incoming_order_id") == order["incoming_order_id"]
        or in_message.search(str(r.get("msg")))
    ]
    for source, record in matched[-limit:]:
        extra = {k: v for k, v in record.items() if k not in ("ts", "level", "logger", "msg", "request_id", "exc")}
        message = str(record.get("msg")).splitlines()[0][:200]
        lines.append(f"  log [{source}] {record.get('ts', '')} {record.get('level')} {message} {extra}")
    return "\n".join(lines)
