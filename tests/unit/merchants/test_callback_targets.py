"""Callback targets: which addresses may be called, the pinned request, the reply excerpt."""

from __future__ import annotations

import asyncio
import ipaddress

import httpx
import pytest

from jivapay.adapters import callback_sender, pinned_http
from jivapay.domain.errors import ValidationFailed
from jivapay.domain.merchants.urls import UnsafeTarget, is_callable_address, pinned_address
from jivapay.services.merchants import callback_targets, callbacks
from jivapay.settings import get_settings

STRICT = get_settings().with_overrides(callback_allow_private="false")
RELAXED = get_settings().with_overrides(callback_allow_private="true")

NOT_PUBLIC = [
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "127.0.0.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",  # multicast: "global" to Python 3.11
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1: "global" to Python 3.11
    "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_non_public_addresses_are_not_callable(address: str) -> None:
    assert not is_callable_address(ip(address), allow_private=False)
    with pytest.raises(UnsafeTarget):
        pinned_address([ip("93.184.216.34"), ip(address)], allow_private=False)  # one bad answer is enough


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_callable(address: str) -> None:
    assert is_callable_address(ip(address), allow_private=False)


def test_the_override_admits_private_addresses_but_never_multicast_or_unspecified() -> None:
    for address in ("127.0.0.1", "10.0.0.1", "::1", "::ffff:127.0.0.1", "169.254.169.254"):
        assert is_callable_address(ip(address), allow_private=True)
    for address in ("224.0.0.1", "0.0.0.0", "::", "ff02::1"):
        assert not is_callable_address(ip(address), allow_private=True)


def test_the_first_address_is_pinned_and_a_mapped_one_as_ipv4() -> None:
    assert pinned_address([ip("8.8.8.8"), ip("8.8.4.4")], allow_private=False) == ip("8.8.8.8")
    assert pinned_address([ip("::ffff:8.8.8.8")], allow_private=False) == ip("8.8.8.8")
    with pytest.raises(UnsafeTarget, match="does not resolve"):
        pinned_address([], allow_private=False)


def _resolver(answers: dict[str, list[str]], calls: list[str]) -> object:
    async def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        calls.append(host)
        if host not in answers:
            raise OSError("Name or service not known")
        return [ip(a) for a in answers[host]]

    return resolve


async def test_check_target_resolves_once_and_pins(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    answers = {"public.example.test": ["93.184.216.34", "2606:4700:4700::1111"], "meta.example.test": ["10.0.0.1"]}
    monkeypatch.setattr(pinned_http, "resolve_host", _resolver(answers, calls))
    target = await callback_targets.check_target(STRICT, "http://PUBLIC.example.test:8443/cb?x=1")
    assert (target.hostname, target.port, target.address) == ("public.example.test", 8443, ip("93.184.216.34"))
    assert calls == ["public.example.test"]
    relaxed = await callback_targets.check_target(RELAXED, "http://meta.example.test/cb")
    assert relaxed.address == ip("10.0.0.1")  # allowed, and pinned all the same
    assert (await callback_targets.check_target(STRICT, "https://public.example.test/")).port == 443


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (["10.0.0.1"], "non-public address"),
        (["169.254.169.254"], "non-public address"),
        (["::ffff:127.0.0.1"], "non-public address"),
        (["93.184.216.34", "127.0.0.1"], "non-public address"),
        (None, "cannot resolve"),
    ],
)
async def test_check_target_refuses_without_naming_the_address(
    monkeypatch: pytest.MonkeyPatch, answer: list[str] | None, message: str
) -> None:
    answers = {} if answer is None else {"callbacks.example.test": answer}
    monkeypatch.setattr(pinned_http, "resolve_host", _resolver(answers, []))
    with pytest.raises(UnsafeTarget, match=message) as refused:
        await callback_targets.check_target(STRICT, "http://callbacks.example.test/cb")
    assert all(a not in str(refused.value) for a in answer or [])  # our DNS answers are not the merchant's business


async def test_a_slow_resolver_is_cut_short(monkeypatch: pytest.MonkeyPatch) -> None:
    async def stuck(host: str, port: int) -> list[ipaddress.IPv4Address]:
        await asyncio.sleep(30)
        return [ip("8.8.8.8")]

    monkeypatch.setattr(pinned_http, "resolve_host", stuck)
    with pytest.raises(UnsafeTarget, match="cannot resolve"):
        await callback_targets.check_target(STRICT, "http://slow.example.test/cb", resolve_seconds=0.05)


async def test_literal_ips_are_checked_without_dns() -> None:
    for url in ("http://[::ffff:127.0.0.1]/cb", "http://[::1]:8080/cb", "http://169.254.169.254/latest"):
        with pytest.raises(UnsafeTarget):
            await callback_targets.check_target(STRICT, url)
    assert await pinned_http.resolve_host("::1", 80) == [ip("::1")]


async def test_saving_maps_refusals_to_a_422_on_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pinned_http, "resolve_host", _resolver({"ok.example.test": ["8.8.8.8"]}, []))
    assert (
        await callback_targets.check_callback_url(STRICT, "  http://ok.example.test/cb ") == "http://ok.example.test/cb"
    )
    assert await callback_targets.check_callback_url(STRICT, "") is None
    with pytest.raises(ValidationFailed) as refused:
        await callback_targets.check_callback_url(STRICT, "http://nowhere.example.test/cb", field="url")
    assert refused.value.details["field"] == "url"
    assert "cannot resolve" in refused.value.message
    production = STRICT.with_overrides(environment="production")
    with pytest.raises(ValidationFailed):
        await callback_targets.check_callback_url(production, "http://ok.example.test/cb")  # https only
    assert await callback_targets.check_callback_url(production, "https://ok.example.test/cb")


async def _sent_through(transport: pinned_http.PinnedTransport, url: str) -> httpx.Request:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    transport._inner = httpx.MockTransport(answer)  # type: ignore[assignment]
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.post(url, content=b"{}")).status_code == 204
    return seen[0]


async def test_the_request_goes_to_the_pinned_address_with_the_name_in_host_and_sni() -> None:
    sent = await _sent_through(
        pinned_http.PinnedTransport("callbacks.example.test", ip("203.0.113.9")),
        "https://callbacks.example.test:8443/jivapay/cb?a=1",
    )
    assert str(sent.url) == "https://203.0.113.9:8443/jivapay/cb?a=1"
    assert sent.headers["host"] == "callbacks.example.test:8443"
    assert sent.extensions["sni_hostname"] == "callbacks.example.test"
    v6 = await _sent_through(
        pinned_http.PinnedTransport("v6.example.test", ip("2001:db8::7")), "http://v6.example.test/cb"
    )
    assert str(v6.url) == "http://[2001:db8::7]/cb"
    assert v6.headers["host"] == "v6.example.test"


async def test_a_pinned_request_calls_no_other_host() -> None:
    sender = callback_sender.CallbackSender()
    pin = pinned_http.Pin("callbacks.example.test", ip("127.0.0.1"))
    try:
        with pytest.raises(callback_sender.SendFailed) as refused:
            await sender.post(
                "http://elsewhere.example.test/", pin, body=b"{}", headers={}, phase_timeout=1, read_bytes=1
            )
        assert isinstance(refused.value.__cause__, httpx.ConnectError)
        assert "only calls callbacks.example.test" in str(refused.value.__cause__)
        assert sender._pooled().follow_redirects is False
    finally:
        await sender.aclose()


async def test_an_unpinned_request_is_refused() -> None:
    pool = pinned_http.PinnedPool(verify=httpx.create_ssl_context(), limits=httpx.Limits(), idle_seconds=1)
    async with httpx.AsyncClient(transport=pool) as client:
        with pytest.raises(httpx.ConnectError, match="only calls pinned targets"):
            await client.get("http://127.0.0.1:9/")
    assert pool.targets == 0


def test_the_reply_excerpt_is_short_and_printable() -> None:
    hostile = "\x1b[31mERROR\x1b[0m\r\n\tat\u202egnp.lecxe\u200b <b>x</b>\x00" + "A" * 1000
    excerpt = callbacks.reply_excerpt(hostile.encode())
    assert excerpt is not None
    assert len(excerpt) == callbacks.EXCERPT_CHARS == 256
    assert excerpt.startswith("[31mERROR [0m at gnp.lecxe <b>x</b> AAA")
    assert excerpt.endswith("…")
    assert all(ch.isprintable() for ch in excerpt)
    assert callbacks.reply_excerpt(b"ok") == "ok"
    assert callbacks.reply_excerpt(b" \r\n\x00 ") is None
    assert callbacks.reply_excerpt(b"caf\xc3\xa9 \xff") == "café \ufffd"


def test_errors_name_the_failure_not_our_internals() -> None:
    request = httpx.Request("POST", "http://callbacks.example.test/cb")
    leaky = httpx.ConnectError("[Errno 111] Connect call failed ('10.20.30.40', 8080)", request=request)
    assert callback_sender.failure_reason(leaky) == "ConnectError: could not connect (TCP or TLS)"
    timed_out = httpx.ReadTimeout("read timed out", request=request)
    assert callback_sender.failure_reason(timed_out) == "ReadTimeout: timed out"
    assert (
        callback_sender.failure_reason(httpx.RemoteProtocolError("junk"))
        == "RemoteProtocolError: the reply is not valid HTTP"
    )
    sent = callback_sender.SendFailed(callback_sender.failure_reason(leaky))
    assert callbacks._failure(sent) == "ConnectError: could not connect (TCP or TLS)"
    assert callbacks._failure(TimeoutError()) == "TimeoutError: timed out"
    unsafe = UnsafeTarget("the callback host resolves to a non-public address")
    assert callbacks._failure(unsafe) == "UnsafeTarget: the callback host resolves to a non-public address"
