"""The ``jivapay`` command: api | worker | scheduler | migrate | seed | ledger | keys | up."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from jivapay.domain.errors import ConfigurationError
from jivapay.logs import configure_logging
from jivapay.settings import Settings, get_settings

log = logging.getLogger("jivapay.cli")

#: how long a stopping worker lets the messages in hand finish; the rest are redelivered later
#: (actors are idempotent), so a stuck one cannot hold a shutdown for dramatiq's default 10 minutes
WORKER_SHUTDOWN_TIMEOUT_SECONDS = 3.0


def _cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from jivapay.preflight import check_database, check_redis

    check_database(settings)
    check_redis(settings)
    workers = args.workers or settings.api_workers
    metrics_dir = None
    if workers > 1:  # every process counts into shared files; /metrics (any of them) adds them up
        from jivapay.worker.metrics import prepare_multiprocess_dir

        metrics_dir = prepare_multiprocess_dir()
    try:
        uvicorn.run(
            "jivapay.http.app:create_asgi_app",
            factory=True,
            host=args.host or settings.host,
            port=args.port or settings.port,
            workers=workers,
            log_config=None,
            timeout_graceful_shutdown=5,  # requests in flight may finish; then it stops regardless
            **proxy_options(settings),
        )
    finally:
        if metrics_dir is not None:
            from jivapay.worker.metrics import remove_multiprocess_dir

            remove_multiprocess_dir(metrics_dir)
    return 0


def proxy_options(settings: Settings) -> dict[str, Any]:
    """X-Forwarded-For/-Proto are believed only from FORWARDED_ALLOW_IPS — never uvicorn's own
    default (127.0.0.1, or its FORWARDED_ALLOW_IPS read behind our back); none listed, none read."""
    return {
        "proxy_headers": bool(settings.forwarded_allow_ips),
        "forwarded_allow_ips": list(settings.forwarded_allow_ips),
    }


def _cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from dramatiq.cli import main as dramatiq_main
    from dramatiq.cli import make_argument_parser

    from jivapay.preflight import check_broker, check_database, check_redis

    check_database(settings)
    check_redis(settings)  # the actors' counters and caches, not only the broker
    check_broker(settings)
    argv = [
        "jivapay.worker.boot",
        "--processes",
        str(args.processes or settings.worker_processes),
        "--threads",
        str(args.threads or settings.worker_threads),
        "--worker-shutdown-timeout",
        str(int(args.shutdown_timeout * 1000)),
    ]
    if args.queues:
        argv += ["--queues", *args.queues]
    metrics_dir = None
    if settings.worker_metrics_port:
        from jivapay.worker.metrics import prepare_multiprocess_dir

        metrics_dir = prepare_multiprocess_dir()  # before dramatiq starts the worker processes
        argv += ["--fork-function", "jivapay.worker.metrics:serve"]
    try:
        return int(dramatiq_main(make_argument_parser().parse_args(argv)) or 0)
    finally:
        if metrics_dir is not None:
            from jivapay.worker.metrics import remove_multiprocess_dir

            remove_multiprocess_dir(metrics_dir)


def _cmd_scheduler(settings: Settings, _: argparse.Namespace) -> int:
    from jivapay.preflight import check_broker, check_database, check_redis

    check_database(settings)
    check_redis(settings)
    check_broker(settings)
    from jivapay.eventloop import use_uvloop
    from jivapay.worker.scheduler import run_scheduler

    use_uvloop()
    asyncio.run(run_scheduler(settings))
    return 0


def _cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    from jivapay.adapters.db.migrations import upgrade_to_head
    from jivapay.preflight import check_database

    check_database(settings)
    upgrade_to_head(settings.require_database_url())
    print("database migrated to head")
    return 0


def _cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    from jivapay.preflight import check_database, check_redis

    check_database(settings)
    check_redis(settings)

    async def seed() -> tuple[dict[str, int], dict[str, Any] | None, tuple[str, str | None] | None]:
        from jivapay.adapters.db.uow import atomic
        from jivapay.adapters.resources import close_resources, get_resources
        from jivapay.services.platform.demo import ensure_admin, seed_demo
        from jivapay.services.platform.seed import seed_all

        try:
            async with atomic(get_resources().session_factory, name="seed") as session:
                created = await seed_all(session)
                demo = await seed_demo(session, settings) if args.demo_file else None
                admin = await ensure_admin(session, settings)
            return created, demo, admin
        finally:
            await close_resources()

    created, demo, admin = asyncio.run(seed())
    print("seeded: " + ", ".join(f"{name}={count}" for name, count in created.items()))
    if admin is not None:
        login, generated = admin
        if generated:
            print(f"created admin {login!r} with password {generated} (shown once: store it, then change it)")
        else:
            print(f"created admin {login!r} with INITIAL_ADMIN_PASSWORD")
    if args.demo_file:
        path = Path(args.demo_file)
        if demo is not None:
            existing = json.loads(path.read_text()) if path.exists() else {}
            path.write_text(json.dumps({**existing, **demo}, indent=2))
            path.chmod(0o600)
            print(f"demo users and store created; credentials in {path}")
        else:
            print(f"demo users already exist; credentials stay in {path}")
    return 0


def _cmd_ledger_audit(settings: Settings, _: argparse.Namespace) -> int:
    from jivapay.preflight import check_database

    check_database(settings)

    async def run() -> Any:
        from jivapay.adapters.resources import close_resources, get_resources
        from jivapay.services.ledger.audit import audit_platform

        try:
            async with get_resources().session_factory() as session, session.begin():
                return await audit_platform(session)
        finally:
            await close_resources()

    report = asyncio.run(run())
    for check, count in report.checks.items():
        print(f"{'ok  ' if count == 0 else 'FAIL'} {check}: {count} violation(s)")
    for violation in report.violations:
        print(f"  - {violation}")
    if not report.ok:
        from jivapay.adapters.notifications import report_critical_error
        from jivapay.domain.errors import JivaPayError

        report_critical_error(JivaPayError("ledger audit failed"), "ledger audit", violations=report.violations[:50])
        print(f"ledger audit FAILED: {len(report.violations)} violation(s)")
        return 1
    print("ledger audit passed")
    return 0


def _cmd_keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    from jivapay.preflight import check_database

    check_database(settings)

    async def run() -> Any:
        from jivapay.adapters.resources import close_resources, get_resources
        from jivapay.services.platform.keys import rotate_secrets_at_rest

        try:
            factory = get_resources().session_factory
            if args.batch_size is None:
                return await rotate_secrets_at_rest(factory, settings)
            return await rotate_secrets_at_rest(factory, settings, batch_size=args.batch_size)
        finally:
            await close_resources()

    report = asyncio.run(run())
    print(json.dumps(report.counts(), separators=(",", ":")))
    failure = report.failure()
    if failure is not None:
        print(f"jivapay: error: {failure}", file=sys.stderr)
        return 1
    return 0


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return number


def _cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    from jivapay.runtime import run_up

    return run_up(settings, port=args.port)


def _cmd_devchain_send(settings: Settings, args: argparse.Namespace) -> int:
    """Mint test USDT on the `jivapay up` dev chain straight to an address (a deposit, for trying it out)."""
    import json
    from decimal import Decimal, InvalidOperation
    from pathlib import Path

    import httpx

    from jivapay.devchain import mint_on

    info_path = Path(settings.data_dir) / "devchain.json"
    if not info_path.exists():
        raise ConfigurationError(
            f"no dev chain: start `jivapay up` with JIVAPAY_DEV_CHAIN=anvil ({info_path} is missing)"
        )
    info = json.loads(info_path.read_text())
    try:
        amount = Decimal(args.amount)
    except InvalidOperation:
        raise ConfigurationError(f"amount must be a number of USDT like 25.5, got {args.amount!r}") from None
    if amount <= 0 or amount.as_tuple().exponent < -int(info["decimals"]):  # type: ignore[operator]
        raise ConfigurationError(f"amount must be positive with at most {info['decimals']} decimals")
    units = int(amount * 10 ** int(info["decimals"]))
    try:
        tx_hash = mint_on(info["rpc_url"], info["token"], args.address, units)
    except (httpx.HTTPError, RuntimeError, ValueError) as exc:
        raise ConfigurationError(f"the dev chain refused: {exc}") from None
    print(f"sent {amount} test USDT to {args.address} on {info['network']} (tx {tx_hash})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jivapay", description="JivaPay payment platform")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    api = sub.add_parser("api", help="serve the HTTP API (uvicorn)")
    api.add_argument("--host")
    api.add_argument("--port", type=int)
    api.add_argument("--workers", type=_positive_int, help="API processes sharing the port (default: API_WORKERS, 1)")
    api.set_defaults(handler=_cmd_api)

    worker = sub.add_parser("worker", help="run dramatiq workers")
    worker.add_argument("--processes", type=int)
    worker.add_argument("--threads", type=int)
    worker.add_argument("--queues", nargs="*")
    worker.add_argument(
        "--shutdown-timeout",
        type=float,
        default=WORKER_SHUTDOWN_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="on SIGINT/SIGTERM, how long messages in hand may finish (default: %(default)s)",
    )
    worker.set_defaults(handler=_cmd_worker)

    sub.add_parser("scheduler", help="run the scheduler (exactly one)").set_defaults(handler=_cmd_scheduler)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(handler=_cmd_migrate)
    seed = sub.add_parser("seed", help="write reference data and default settings")
    seed.add_argument("--demo-file", help="also create demo users and a store; write their credentials here (JSON)")
    seed.set_defaults(handler=_cmd_seed)

    ledger = sub.add_parser("ledger", help="ledger tools")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True, metavar="LEDGER_COMMAND")
    ledger_sub.add_parser("audit", help="check every ledger invariant; exit 1 on any violation").set_defaults(
        handler=_cmd_ledger_audit
    )

    keys = sub.add_parser("keys", help="SECRET_KEY tools")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="KEYS_COMMAND")
    rotate = keys_sub.add_parser(
        "rotate", help="re-encrypt stored secrets under SECRET_KEY (reading SECRET_KEY_PREVIOUS); exit 1 if any fails"
    )
    rotate.add_argument("--batch-size", type=_positive_int, help="rows per transaction (default: 500)")
    rotate.set_defaults(handler=_cmd_keys_rotate)

    devchain = sub.add_parser("devchain", help="the local chain of `jivapay up` (JIVAPAY_DEV_CHAIN=anvil)")
    devchain_sub = devchain.add_subparsers(dest="devchain_command", required=True, metavar="DEVCHAIN_COMMAND")
    send = devchain_sub.add_parser("send", help="send test USDT to an address (a deposit to try the wallet)")
    send.add_argument("address")
    send.add_argument("amount", help="USDT, e.g. 25.5")
    send.set_defaults(handler=_cmd_devchain_send)

    up = sub.add_parser("up", help="run everything locally, on embedded PostgreSQL/Redis if none is configured")
    up.add_argument("--port", type=int)
    up.set_defaults(handler=_cmd_up)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
        # `up` talks to a person; the processes it starts log in the configured format
        configure_logging(settings.log_level, "console" if args.command == "up" else settings.log_format)
        handler: Callable[[Settings, argparse.Namespace], int] = args.handler
        return handler(settings, args)
    except ConfigurationError as exc:
        print(f"jivapay: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
