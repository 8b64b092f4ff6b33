"""Redirect URI matching (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3, RFC 8252 §7.3).

Exact string comparison against the registered list: no prefix, path, query, case or
trailing-slash leniency. The one exception is RFC 8252 §7.3: for ``http`` redirects to the
loopback IP literals ``127.0.0.1`` and ``[::1]`` the port may differ, because native apps bind an
ephemeral port at run time. ``localhost`` gets no exception (RFC 8252 §8.3).
"""

from __future__ import annotations

from collections.abc import Sequence

#: Hosts (as written in the URI's authority) that get the loopback-port exception.
LOOPBACK_HOSTS = ("127.0.0.1", "[::1]")

#: Longer redirect URIs are refused outright.
MAX_LENGTH = 2000


def _without_port(uri: str) -> str | None:
    """``uri`` with the port of an ``http://<loopback>:<port>`` authority removed, else None."""
    prefix = "http://"
    if not uri.startswith(prefix):
        return None
    rest = uri[len(prefix):]
    cut = len(rest)
    for sep in "/?#":
        index = rest.find(sep)
        if index != -1:
            cut = min(cut, index)
    authority, tail = rest[:cut], rest[cut:]
    for host in LOOPBACK_HOSTS:
        if authority == host:
            return prefix + host + tail
        if authority.startswith(host + ":"):
            port = authority[len(host) + 1:]
            if port.isascii() and port.isdigit() and len(port) <= 5 and int(port) <= 65535:
                return prefix + host + tail
            return None
    return None


def matches(registered: str, presented: str) -> bool:
    """Whether ``presented`` is exactly ``registered`` (or differs only in a loopback port)."""
    if presented == registered:
        return True
    if "#" in presented:
        return False
    a, b = _without_port(registered), _without_port(presented)
    return a is not None and a == b


def resolve(registered: Sequence[str], presented: str | None) -> str | None:
    """The redirect URI to use, or None when it cannot be proven.

    ``presented`` may be omitted only when exactly one URI is registered (RFC 6749 §3.1.2.3).
    The presented value (not the registered one) is returned, so a loopback port is honoured.
    """
    uris = [u for u in registered or () if u]
    if presented is None:
        return uris[0] if len(uris) == 1 else None
    if not presented or len(presented) > MAX_LENGTH:
        return None
    for uri in uris:
        if matches(uri, presented):
            return presented
    return None
