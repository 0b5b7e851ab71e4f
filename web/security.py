"""Response headers that lock pages down, and the name of the CSRF field every form carries.

The Content-Security-Policy allows nothing but our own stylesheet and images and forms posting
back to us: no script at all, no frames, no remote fonts or images. A page that somehow showed
hostile text could therefore still not run it or call out with it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
_NO_STORE = (b"cache-control", b"no-store")
CSRF_FIELD = "csrf_token"


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response.

    Records and pages are never cached (``no-store``), static files may be.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [h for h in _HEADERS if h[0] not in present]
                if not cacheable and _NO_STORE[0] not in present:
                    headers.append(_NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
"""A query parameter without control characters (NUL cannot even be sent to PostgreSQL)."""
