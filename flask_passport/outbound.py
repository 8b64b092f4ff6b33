"""Safe outbound fetches of small JSON documents (client metadata documents, ``jwks_uri``).

A URL a client hands the server makes the server send a request: a server-side request forgery
(SSRF) surface. :func:`fetch_json` allows what such documents need and nothing more:

- ``https`` only (``http`` only to loopback addresses, and only with ``allow_private``);
- no userinfo in the URL, no redirects (a 3xx is an error, not followed);
- the host is resolved once and every address checked: private, loopback, link-local,
  multicast, reserved, unspecified and shared addresses (also inside IPv4-mapped, 6to4, Teredo
  and NAT64 IPv6 addresses) are refused unless ``allow_private``;
- the connection goes to the checked address (no second lookup a DNS rebinding could answer),
  with the URL's host in the ``Host`` header and as TLS SNI, and the certificate verified for it;
- one total deadline for resolving, connecting, sending and reading; the body is capped while
  it is read (``Content-Length`` is not trusted); no compression is accepted;
- the body must be UTF-8 JSON whose top level is an object, without duplicate members.

:class:`OutboundCache` keeps documents per app for their ``Cache-Control: max-age``, clamped to
bounds; ``no-store`` and ``no-cache`` are honoured. Standard library only.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

__all__ = ["FetchError", "FetchResult", "OutboundCache", "fetch_document", "fetch_json"]

#: RFC 6890 addresses a public document never lives at (``is_global`` misses multicast).
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_MAX_URL_LENGTH = 2048
_CHUNK = 8192
_USER_AGENT = "flask-passport (+https://github.com/flask-passport)"


class FetchError(Exception):
    """A document could not be fetched or is not acceptable; ``reason`` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FetchResult:
    """A fetched JSON object and how long it may be cached (seconds; 0 = not at all)."""

    document: dict[str, Any]
    max_age: float


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to an IPv4 host (mapped, 6to4, Teredo, NAT64)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(ip: IPAddress) -> bool:
    """True for a global unicast address: what a public document may be served from."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None and not is_public_address(inner):
            return False
    return ip.is_global and not ip.is_multicast


def _is_loopback(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # the name for Host, SNI and certificate checks (IDNA, lowercase)
    port: int
    path: str  # path and query, what the request line carries


def _parse_url(url: str) -> _Target:
    """The parts of ``url`` a request needs; refuses what no document URL should have."""
    if not isinstance(url, str) or not url or len(url) > _MAX_URL_LENGTH:
        raise FetchError("The URL is missing or longer than 2048 characters.")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise FetchError("The URL contains whitespace or control characters.")
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchError("The URL is not valid.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise FetchError("Only https URLs are fetched.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise FetchError("The URL must not contain userinfo.")
    host = parts.hostname or ""
    if not host:
        raise FetchError("The URL has no host.")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise FetchError("The URL's host is not a valid name.") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return _Target(scheme, host.lower(), port or (443 if scheme == "https" else 80), path)


def _resolve(host: str, port: int, deadline: float) -> list[IPAddress]:
    """Every address of ``host``, looked up in a helper thread so the deadline holds."""
    try:  # a literal address needs no lookup
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    found: list[Any] = []
    failed: list[BaseException] = []

    def lookup() -> None:
        try:
            found.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:
            failed.append(exc)

    worker = threading.Thread(target=lookup, name="passport-resolve", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        raise FetchError("Resolving the URL's host timed out.")
    if failed or not found:
        raise FetchError("The URL's host could not be resolved.")
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in found:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    return addresses


def _pick_address(target: _Target, addresses: list[IPAddress], allow_private: bool) -> IPAddress:
    """The address to connect to, when every address of the host is allowed.

    All must pass, not one: a host answering with a public and a private address would
    otherwise get the private one tried whenever the public one fails.
    """
    if not allow_private and not all(is_public_address(ip) for ip in addresses):
        raise FetchError("The URL's host is a private, loopback or reserved address.")
    if target.scheme == "http" and not (allow_private and all(map(_is_loopback, addresses))):
        raise FetchError("Only https URLs are fetched (http only to loopback in development).")
    return addresses[0]


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to an already checked address; ``host`` stays the URL's name."""

    def __init__(self, target: _Target, ip: IPAddress, timeout: float,
                 ssl_context: ssl.SSLContext | None) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._ip = str(ip)
        self.pinned_sock: socket.socket | None = None
        self._tls = ssl_context if target.scheme == "https" else None
        if self._tls is not None:
            self.default_port = 443  # the Host header names no port for https on 443

    def connect(self) -> None:
        # A plain connect to the literal address: create_connection would look it up again.
        family = socket.AF_INET6 if ":" in self._ip else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect((self._ip, self.port))
        except OSError:
            sock.close()
            raise
        if self._tls is not None:
            # SNI and the certificate check use the URL's host, not the pinned address.
            sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        # Kept here too: http.client drops self.sock once a "Connection: close" response starts.
        self.sock = self.pinned_sock = sock


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError("Fetching the document timed out.")
    return left


def _read_body(response: http.client.HTTPResponse, sock: socket.socket | None,
               max_bytes: int, deadline: float) -> bytes:
    """The body, at most ``max_bytes``, read before the deadline."""
    length = response.getheader("Content-Length")
    if length is not None and length.strip().isdigit() and int(length) > max_bytes:
        raise FetchError(f"The document is larger than {max_bytes} bytes.")
    body = bytearray()
    while True:
        left = _remaining(deadline)
        if sock is not None:
            sock.settimeout(left)
        chunk = response.read1(_CHUNK) if hasattr(response, "read1") else response.read(_CHUNK)
        if not chunk:
            # The deadline timer shuts the socket, which reads as a clean end of the body.
            _remaining(deadline)
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            raise FetchError(f"The document is larger than {max_bytes} bytes.")


def _max_age(cache_control: str | None) -> float:
    """Seconds ``Cache-Control`` lets the document be reused; 0 for no-store/no-cache."""
    if not cache_control:
        return -1.0  # not said: the cache's minimum applies
    age = -1.0
    for directive in cache_control.lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name in ("no-store", "no-cache"):
            return 0.0
        if name == "max-age":
            value = value.strip().strip('"')
            age = float(int(value)) if value.isdigit() else 0.0
    return age


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two "client_id" or "redirect_uris" members: parsers disagree on which wins (RFC 8259 §4).
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise FetchError(f"The document has the member {key[:40]!r} twice.")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise FetchError(f"The document is not valid JSON ({name} is not JSON).")


def parse_json_object(body: bytes) -> dict[str, Any]:
    """``body`` as a UTF-8 JSON object, strictly (no BOM, NaN or duplicate members)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise FetchError("The document is not UTF-8.") from None
    try:
        document = json.loads(text, object_pairs_hook=_reject_duplicates,
                              parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise FetchError("The document is not valid JSON.") from None
    if not isinstance(document, dict):
        raise FetchError("The document is not a JSON object.")
    return document


def _exchange(target: _Target, ip: IPAddress, deadline: float, max_bytes: int,
              ssl_context: ssl.SSLContext | None) -> tuple[bytes, float]:
    """Send the GET and read the answer; the connection is shut at the deadline."""
    context = ssl_context or ssl.create_default_context()
    conn = _PinnedConnection(target, ip, _remaining(deadline), context)
    # A server that trickles its headers one byte at a time gets a per-read timeout each
    # time; the timer closes the socket at the deadline, so the total holds regardless.
    timer = threading.Timer(_remaining(deadline), _shut, args=(conn,))
    timer.daemon = True
    timer.start()
    try:
        conn.request("GET", target.path, headers={
            "Accept": "application/json", "Accept-Encoding": "identity",
            "User-Agent": _USER_AGENT, "Connection": "close",
        })
        response = conn.getresponse()
        if 300 <= response.status < 400:
            raise FetchError("The document URL redirects; redirects are not followed.")
        if response.status != 200:
            raise FetchError(f"The document URL answered HTTP {response.status}.")
        if (response.getheader("Content-Encoding") or "identity").lower() != "identity":
            raise FetchError("The document is compressed; it must be sent as is.")
        body = _read_body(response, conn.pinned_sock, max_bytes, deadline)
        return body, _max_age(response.getheader("Cache-Control"))
    except FetchError:
        raise
    except ssl.SSLError:
        raise FetchError("The TLS connection failed (certificate not valid for the host?).") \
            from None
    except (OSError, http.client.HTTPException, ValueError):
        if time.monotonic() >= deadline:
            raise FetchError("Fetching the document timed out.") from None
        raise FetchError("The document URL could not be fetched.") from None
    finally:
        timer.cancel()
        conn.close()
        if conn.pinned_sock is not None:
            conn.pinned_sock.close()


def _shut(conn: _PinnedConnection) -> None:
    sock = conn.pinned_sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def fetch_document(url: str, *, max_bytes: int, timeout: float, allow_private: bool = False,
                   ssl_context: ssl.SSLContext | None = None) -> FetchResult:
    """GET ``url`` under the rules of this module; the JSON object and its cache lifetime.

    ``max_age`` is -1 when the response said nothing about caching. Raises :class:`FetchError`.
    """
    deadline = time.monotonic() + timeout
    target = _parse_url(url)
    ip = _pick_address(target, _resolve(target.host, target.port, deadline), allow_private)
    body, max_age = _exchange(target, ip, deadline, max_bytes, ssl_context)
    return FetchResult(parse_json_object(body), max_age)


class OutboundCache:
    """Fetched documents of one app, at most ``max_entries``, least recently used dropped first.

    A document is kept for its ``max-age`` clamped to ``[min_ttl, max_ttl]`` seconds (``min_ttl``
    when the response did not say): a floor so a server cannot make every request refetch, a
    ceiling so a changed document is seen. ``no-store``/``no-cache`` responses are not kept.
    """

    def __init__(self, *, max_entries: int = 1000, min_ttl: float = 60.0,
                 max_ttl: float = 86400.0, clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 1 or min_ttl < 0 or max_ttl < min_ttl:
            raise ValueError("OutboundCache needs max_entries >= 1 and 0 <= min_ttl <= max_ttl.")
        self.max_entries = max_entries
        self.min_ttl = min_ttl
        self.max_ttl = max_ttl
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, FetchResult]] = OrderedDict()
        self._lock = threading.Lock()

    def ttl_for(self, max_age: float) -> float:
        """Seconds a response with ``max_age`` is kept (0: not kept)."""
        if max_age == 0:
            return 0.0
        if max_age < 0:
            return self.min_ttl
        return min(max(max_age, self.min_ttl), self.max_ttl)

    def get(self, url: str) -> FetchResult | None:
        with self._lock:
            entry = self._entries.get(url)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[url]
                return None
            self._entries.move_to_end(url)
            return entry[1]

    def put(self, url: str, result: FetchResult) -> float:
        """Keep ``result`` for its lifetime; returns that lifetime (seconds)."""
        ttl = self.ttl_for(result.max_age)
        with self._lock:
            self._entries.pop(url, None)
            if ttl > 0:
                self._entries[url] = (self._clock() + ttl, result)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return ttl

    def discard(self, url: str) -> None:
        with self._lock:
            self._entries.pop(url, None)

    def __len__(self) -> int:
        return len(self._entries)


def fetch_json(url: str, *, max_bytes: int, timeout: float, allow_private: bool = False,
               cache: OutboundCache | None = None,
               ssl_context: ssl.SSLContext | None = None) -> dict[str, Any]:
    """The JSON object at ``url`` (from ``cache`` while fresh); raises :class:`FetchError`.

    The returned dict is a fresh copy: callers may change it without touching the cache.
    """
    result = cache.get(url) if cache is not None else None
    if result is None:
        result = fetch_document(url, max_bytes=max_bytes, timeout=timeout,
                                allow_private=allow_private, ssl_context=ssl_context)
        if cache is not None:
            cache.put(url, result)
    copied: dict[str, Any] = json.loads(json.dumps(result.document))
    return copied
