"""Who may talk to the explorer: requests must name a host it serves (a page on another site
that rebinds its DNS name to 127.0.0.1 names its own host, and is refused), and writes from a
page of another origin are refused (the ``Origin`` a browser sends on a cross-site POST).

The explorer sends no CORS headers, so other sites cannot read its answers either. Clients that
are not browsers (curl, scripts) send no ``Origin`` and are let through.
"""

from __future__ import annotations

import ipaddress
import json
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def host_name(value: str) -> str:
    """``Host`` header (or an origin's netloc) -> the bare lower-case name, port dropped:
    ``[::1]:8765`` -> ``::1``, ``LocalHost:80`` -> ``localhost``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def served_names(bind: str, extra: tuple[str, ...] = ()) -> frozenset[str] | None:
    """The host names a server bound to ``bind`` answers to; None (any name) when it is bound
    to every interface and no names were given."""
    bind = host_name(bind)
    if bind in ("0.0.0.0", "::", ""):
        return frozenset(host_name(h) for h in extra) or None
    names = {bind, *(host_name(h) for h in extra)}
    try:
        if ipaddress.ip_address(bind).is_loopback:
            names.update(LOOPBACK)
    except ValueError:
        if bind == "localhost":
            names.update(LOOPBACK)
    return frozenset(names)


async def send_json(send, status: int, detail: str) -> None:
    """Answer an ASGI request with ``{"detail": ...}`` from a middleware, before any app."""
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class HostGuard:
    """ASGI middleware: 403 for a ``Host`` it does not serve, and for a write (any method but
    GET, HEAD, OPTIONS) whose ``Origin`` is another site than the one it was sent to."""

    def __init__(self, app, names: frozenset[str] | None):
        self.app, self.names = app, names

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get(b"host", "")
        if self.names is not None and host_name(host) not in self.names:
            return await send_json(send, 403, "this explorer does not serve that host name")
        if scope["method"] not in SAFE_METHODS:
            origin = headers.get(b"origin")
            if origin is not None:
                parts = urlsplit(origin)
                if origin == "null" or parts.netloc.lower() != host.strip().lower():
                    return await send_json(send, 403, "writes from another site are refused")
            if headers.get(b"sec-fetch-site") == "cross-site":
                return await send_json(send, 403, "writes from another site are refused")
        return await self.app(scope, receive, send)
