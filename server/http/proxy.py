"""Behind a reverse proxy: X-Forwarded-For, -Proto and -Host are believed only when the peer
is one of the configured TRUSTED_PROXIES (none by default), and then rewrite REMOTE_ADDR,
the URL scheme and the host, so that throttling and audits see the client's address and
HTTPS-only Basic, secure cookies and HSTS see the scheme the client used. From any other peer
the headers are dropped, so that nothing further in can be fooled by them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED_ENVIRON = "donghanh.forwarded_by"  # the trusted proxy's address, when one forwarded
_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST")
LOOPBACK = ("127.0.0.1", "::1")


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text or "")
    except ValueError:
        return None


def _is_in(address: str | None, networks: Iterable[IPNetwork]) -> bool:
    ip = _address(address)
    return ip is not None and any(ip in network for network in networks)


def _last(value: str | None) -> str:
    """The value the nearest proxy set: the last of a comma-separated header."""
    return (value or "").rsplit(",", 1)[-1].strip()


class TrustedProxyMiddleware:
    """WSGI middleware applying the forwarded headers of trusted peers only."""

    def __init__(self, app, trusted: tuple[IPNetwork, ...]):
        self.app = app
        self.trusted = trusted

    def __call__(self, environ, start_response):
        peer = environ.get("REMOTE_ADDR")
        if not _is_in(peer, self.trusted):
            for name in _HEADERS:
                environ.pop(name, None)
            return self.app(environ, start_response)
        if not any(name in environ for name in _HEADERS):
            return self.app(environ, start_response)  # the proxy's own host calling directly
        environ[FORWARDED_ENVIRON] = peer
        environ["REMOTE_ADDR"] = self.client_address(peer, environ.get("HTTP_X_FORWARDED_FOR"))
        proto = _last(environ.get("HTTP_X_FORWARDED_PROTO")).lower()
        if proto in ("http", "https"):
            environ["wsgi.url_scheme"] = proto
        if host := _last(environ.get("HTTP_X_FORWARDED_HOST")):
            environ["HTTP_HOST"] = host
        return self.app(environ, start_response)

    def client_address(self, peer: str, forwarded_for: str | None) -> str:
        """The nearest address in X-Forwarded-For that is not a trusted proxy (hops written by
        the client itself, left of it, are not believed)."""
        client = peer
        for hop in reversed([h.strip() for h in (forwarded_for or "").split(",") if h.strip()]):
            if _address(hop) is None:
                break  # not an address: keep the last one we could believe
            client = hop
            if not _is_in(hop, self.trusted):
                break
        return client


def is_loopback(environ: dict) -> bool:
    """True only for a request made on this machine itself: a request a proxy forwarded from
    elsewhere is not, even though its peer is loopback."""
    return environ.get("REMOTE_ADDR") in LOOPBACK and FORWARDED_ENVIRON not in environ
