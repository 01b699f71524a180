"""Load through the public HTTP API: merchants create orders, customers say they paid, traders work.

Every party retries what an outage interrupted: connection errors, 429, 5xx and 409
``request_in_progress`` are tried again (gateway POSTs with the same ``Idempotency-Key``)
until a definite answer or the call's deadline; what it was answered, and every retry, is
counted. What a party was told succeeded is recorded, so the checks can prove it persisted.

Decisions (which customer pays, what a trader does with an order) come from a random
generator seeded with the run's seed and the order's id, so a seed replays the same choices.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from tests.chaos.world import Store, Trader, World, card_number

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
OPEN_FOR_TRADER = ("pending_payment", "client_confirmed", "pending")


@dataclasses.dataclass(frozen=True)
class Profile:
    """Who does what, as shares."""

    payin_share: float = 0.6
    customer_confirms: float = 0.75
    payin_actions: tuple[tuple[str, float], ...] = (("complete", 0.65), ("cancel", 0.15), ("ignore", 0.2))
    payout_actions: tuple[tuple[str, float], ...] = (("pay", 0.65), ("decline", 0.15), ("ignore", 0.2))
    think_seconds: tuple[float, float] = (0.0, 3.0)
    trader_tick_seconds: float = 1.5
    status_poll_seconds: float = 1.0
    min_amount_minor: int = 500_00
    max_amount_minor: int = 5_000_00


@dataclasses.dataclass
class Lifecycle:
    n: int
    direction: str
    store: Store
    merchant_order_id: str
    started: float
    reference: str | None = None  # the order's id in the API (an integer or an ``ord_…`` reference)
    token: str | None = None
    outcome: str = "pending"  # what the merchant last saw


@dataclasses.dataclass
class LoadStats:
    retries: Counter[tuple[str, str]] = dataclasses.field(default_factory=Counter)
    abandoned: Counter[str] = dataclasses.field(default_factory=Counter)
    answers: Counter[tuple[str, int]] = dataclasses.field(default_factory=Counter)
    latencies: dict[str, list[float]] = dataclasses.field(default_factory=dict)  # label → seconds per answer
    conflicts: Counter[tuple[str, str]] = dataclasses.field(default_factory=Counter)
    actions: Counter[tuple[str, str, str]] = dataclasses.field(default_factory=Counter)
    server_errors: list[str] = dataclasses.field(default_factory=list)  # samples of 500 answers
    unexpected: list[str] = dataclasses.field(default_factory=list)  # answers no party should get
    # what a party was told succeeded, by the order's id in the API: (trader, order) → status, the
    # orders whose customer confirmed, and every init answered
    trader_acked: dict[tuple[int, str], str] = dataclasses.field(default_factory=dict)
    customer_acked: set[str] = dataclasses.field(default_factory=set)
    lifecycles: dict[str, Lifecycle] = dataclasses.field(default_factory=dict)
    inits_requested: Counter[str] = dataclasses.field(default_factory=Counter)

    def note_unexpected(self, label: str, response: httpx.Response) -> None:
        if len(self.unexpected) < 50:
            self.unexpected.append(f"{label}: {response.status_code} {response.text[:300]}")


def _choose(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    names, weights = zip(*weighted, strict=True)
    return str(rng.choices(names, weights=weights)[0])


def _money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def _error_code(response: httpx.Response) -> str:
    with contextlib.suppress(Exception):
        return str(response.json()["error"]["code"])
    return ""


def _current_status(response: httpx.Response) -> str:
    with contextlib.suppress(Exception):
        return str(response.json()["error"]["details"].get("current_status", "?"))
    return "?"


class Api:
    """One HTTP client for every party, with the retry rules above."""

    def __init__(self, base_url: str, stats: LoadStats, *, connections: int = 64) -> None:
        self.stats = stats
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(20, connect=5),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def call(
        self, label: str, method: str, path: str, *, deadline: float, **kwargs: Any
    ) -> httpx.Response | None:
        """The first definite answer, or None when the deadline passed first (counted as abandoned)."""
        delay = 0.2
        while True:
            started = time.monotonic()
            try:
                response = await self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                self.stats.retries[(label, type(exc).__name__)] += 1
            else:
                self.stats.answers[(label, response.status_code)] += 1
                self.stats.latencies.setdefault(label, []).append(time.monotonic() - started)
                code = _error_code(response) if response.status_code == 409 else ""
                if response.status_code not in RETRYABLE_STATUSES and code != "request_in_progress":
                    return response
                self.stats.retries[(label, code or str(response.status_code))] += 1
                if response.status_code == 500 and len(self.stats.server_errors) < 30:
                    self.stats.server_errors.append(f"{label} {method} {path}: {response.text[:300]}")
            if time.monotonic() + delay > deadline:
                self.stats.abandoned[label] += 1
                return None
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 3.0)


class Merchants:
    """Stores creating pay-ins and pay-outs; their customers confirming pay-ins."""

    def __init__(self, api: Api, world: World, seed: int, profile: Profile, callback_url: str) -> None:
        self.api = api
        self.world = world
        self.seed = seed
        self.profile = profile
        self.callback_url = callback_url
        self.stats = api.stats

    async def init(self, n: int, deadline: float, *, direction: str | None = None) -> Lifecycle | None:
        rng = random.Random(f"{self.seed}:init:{n}")
        direction = direction or ("payin" if rng.random() < self.profile.payin_share else "payout")
        store = self.world.stores[n % len(self.world.stores)]
        amount = rng.randint(self.profile.min_amount_minor, self.profile.max_amount_minor)
        lifecycle = Lifecycle(n, direction, store, f"chaos-{self.seed}-{n}", time.monotonic())
        body: dict[str, Any] = {
            "amount": _money(amount),
            "currency": "RUB",
            "payment_method": "card",
            "merchant_order_id": lifecycle.merchant_order_id,
            "client_id": f"customer-{self.seed}-{n}",
            "callback_url": self.callback_url,
        }
        if direction == "payout":
            body["recipient"] = {"number": card_number("220077", n), "name": "Anna Smirnova"}
        self.stats.inits_requested[direction] += 1
        label = f"{direction}.init"
        response = await self.api.call(
            label,
            "POST",
            f"/gateway/{direction}/init",
            json=body,
            headers={"X-API-Key": store.api_key, "Idempotency-Key": f"init-{self.seed}-{n}"},
            deadline=deadline,
        )
        if response is None:
            return None
        if response.status_code != 201:
            self.stats.note_unexpected(label, response)
            return None
        data = response.json()
        lifecycle.reference = str(data["id"])
        lifecycle.token = data.get("order_token")
        self.stats.lifecycles[lifecycle.reference] = lifecycle
        return lifecycle

    async def status(self, lifecycle: Lifecycle, deadline: float, wait: int = 0) -> str | None:
        assert lifecycle.reference is not None
        headers = {"X-Order-Token": lifecycle.token} if lifecycle.token else {"X-API-Key": lifecycle.store.api_key}
        response = await self.api.call(
            f"{lifecycle.direction}.status",
            "GET",
            f"/gateway/{lifecycle.direction}/status/{lifecycle.reference}",
            params={"wait": wait} if wait else None,
            headers=headers,
            deadline=deadline,
        )
        if response is None or response.status_code != 200:
            if response is not None:
                self.stats.note_unexpected(f"{lifecycle.direction}.status", response)
            return None
        lifecycle.outcome = str(response.json()["status"])
        return lifecycle.outcome

    async def wait_for(
        self, lifecycle: Lifecycle, done: Callable[[str], bool], deadline: float, wait: int = 0
    ) -> str | None:
        status = None
        while time.monotonic() < deadline:
            status = await self.status(lifecycle, deadline, wait)
            if status is not None and done(status):
                return status
            if not wait:
                await asyncio.sleep(self.profile.status_poll_seconds)
        return status

    async def customer(self, lifecycle: Lifecycle, deadline: float, *, always: bool = False) -> None:
        """A pay-in's customer: waits for the requisite, pays (maybe), and says so."""
        rng = random.Random(f"{self.seed}:customer:{lifecycle.n}")
        if not always and rng.random() >= self.profile.customer_confirms:
            return
        status = await self.wait_for(lifecycle, lambda s: s != "processing", deadline)
        if status != "pending_payment":
            return
        await asyncio.sleep(rng.uniform(*self.profile.think_seconds))
        assert lifecycle.reference is not None
        assert lifecycle.token is not None
        response = await self.api.call(
            "payin.confirm",
            "POST",
            f"/gateway/payin/confirm/{lifecycle.reference}",
            headers={"X-Order-Token": lifecycle.token, "Idempotency-Key": f"confirm-{self.seed}-{lifecycle.n}"},
            deadline=deadline,
        )
        if response is None:
            return
        if response.status_code == 200:
            self.stats.customer_acked.add(lifecycle.reference)
        elif response.status_code == 409:
            self.stats.conflicts[("payin.confirm", _current_status(response))] += 1
        else:
            self.stats.note_unexpected("payin.confirm", response)


class TraderBot:
    """A trader watching their open orders and acting on each once."""

    def __init__(self, api: Api, trader: Trader, seed: int, profile: Profile, *, everything: bool = False) -> None:
        self.api = api
        self.trader = trader
        self.seed = seed
        self.profile = profile
        self.everything = everything  # soak: complete and pay every order
        self.stats = api.stats
        self.token = ""
        self.seen: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    async def login(self, deadline: float) -> bool:
        response = await self.api.call(
            "trader.login",
            "POST",
            "/trader/auth/token",
            data={"username": self.trader.login, "password": self.trader.password},
            deadline=deadline,
        )
        if response is None or response.status_code != 200:
            if response is not None:
                self.stats.note_unexpected("trader.login", response)
            return False
        self.token = str(response.json()["access_token"])
        return True

    async def request(
        self, label: str, method: str, path: str, deadline: float, **kwargs: Any
    ) -> httpx.Response | None:
        for _ in range(3):
            if not self.token and not await self.login(deadline):
                return None
            response = await self.api.call(
                label, method, path, headers={"Authorization": f"Bearer {self.token}"}, deadline=deadline, **kwargs
            )
            if response is None or response.status_code != 401:
                return response
            self.token = ""
        return None

    async def run(self, stop: asyncio.Event, action_deadline: Callable[[], float]) -> None:
        """List my recent orders (newest first), act once on each open one, until ``stop``."""
        while not stop.is_set():
            response = await self.request(
                "trader.list", "GET", "/trader/orders", time.monotonic() + 5, params={"limit": 200}
            )
            if response is not None and response.status_code == 200:
                for order in response.json()["data"]:
                    if order["status"] in OPEN_FOR_TRADER and str(order["id"]) not in self.seen:
                        self.seen.add(str(order["id"]))
                        task = asyncio.get_running_loop().create_task(self.act(order, action_deadline()))
                        self.tasks.add(task)
                        task.add_done_callback(self.tasks.discard)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.profile.trader_tick_seconds)
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    async def act(self, order: dict[str, Any], deadline: float) -> None:
        order_id, direction = str(order["id"]), str(order["direction"])
        rng = random.Random(f"{self.seed}:order:{self.trader.id}:{order_id}")  # a reassigned order: a new choice
        if self.everything:
            action = "complete" if direction == "payin" else "pay"
        else:
            action = _choose(rng, self.profile.payin_actions if direction == "payin" else self.profile.payout_actions)
        await asyncio.sleep(rng.uniform(*self.profile.think_seconds))
        outcome = "ignored"
        if action == "complete":
            outcome = await self._move(order_id, "confirm", "completed", deadline)
        elif action in ("cancel", "decline"):
            outcome = await self._move(order_id, "cancel", "canceled" if direction == "payin" else "declined", deadline)
        elif action == "pay":
            outcome = await self._pay(order_id, deadline)
        self.stats.actions[(direction, action, outcome)] += 1

    async def _move(self, order_id: str, verb: str, target: str, deadline: float) -> str:
        kwargs: dict[str, Any] = {"json": {"reason": "chaos: no money arrived"}} if verb == "cancel" else {}
        response = await self.request(f"trader.{verb}", "POST", f"/trader/orders/{order_id}/{verb}", deadline, **kwargs)
        if response is None:
            return "abandoned"
        if response.status_code == 200:
            self.stats.trader_acked[(self.trader.id, order_id)] = target
            return "ok"
        if response.status_code == 409:
            self.stats.conflicts[(f"trader.{verb}", _current_status(response))] += 1
            return "conflict"
        self.stats.note_unexpected(f"trader.{verb}", response)
        return f"http {response.status_code}"

    async def _pay(self, order_id: str, deadline: float) -> str:
        receipt = b"%PDF-1.4\n% chaos receipt for order " + order_id.encode() + b"\n%%EOF\n"
        response = await self.request(
            "trader.receipt",
            "POST",
            f"/trader/orders/{order_id}/receipts",
            deadline,
            files={"data": (f"receipt-{order_id}.pdf", receipt, "application/pdf")},
        )
        if response is None:
            return "abandoned"
        if response.status_code != 201:
            if response.status_code == 409:
                self.stats.conflicts[("trader.receipt", _current_status(response))] += 1
                return "conflict"
            self.stats.note_unexpected("trader.receipt", response)
            return f"http {response.status_code}"
        return await self._move(order_id, "confirm", "trader_paid", deadline)
