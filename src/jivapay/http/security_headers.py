"""Security headers on every response, as plain ASGI around the whole app: errors, 404s and the
rate limiter's own 429/403 answers included.

A header the handler has set already (a download's stricter policy) is kept, never doubled.
HTML (the API docs under /schema) gets ``frame-ancestors 'none'`` only, so its scripts still run;
everything else gets a policy that lets nothing load or run.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send

HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
_CSP = b"content-security-policy"
_HTML_POLICY = b"frame-ancestors 'none'"
_API_POLICY = b"default-src 'none'; frame-ancestors 'none'"
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.headers = (*_ALWAYS, HSTS) if production else _ALWAYS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {bytes(name).lower() for name, _ in headers}
                content_type = next((bytes(v).lower() for k, v in headers if bytes(k).lower() == b"content-type"), b"")
                policy = _HTML_POLICY if content_type.startswith(b"text/html") else _API_POLICY
                headers += [(name, value) for name, value in (*self.headers, (_CSP, policy)) if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
