"""outbound.py: the SSRF rules of fetch_json, its limits, strict JSON and the per-app cache."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from typing import Any

import pytest
from conftest import make_app
from document_server import DocumentServer, document_server, tls_document_server

from flask_passport.outbound import (
    FetchError,
    FetchResult,
    OutboundCache,
    fetch_json,
    is_public_address,
)

__all__ = ["document_server", "tls_document_server"]  # fixtures, imported to be used

DOC = {"client_id": "x", "redirect_uris": ["https://app.example/cb"]}


def _fetch(url: str, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("max_bytes", 5120)
    kwargs.setdefault("timeout", 2.0)
    return fetch_json(url, **kwargs)


def _refused(url: str, match: str, **kwargs: Any) -> None:
    with pytest.raises(FetchError, match=match):
        _fetch(url, **kwargs)


# -- addresses -----------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "https://10.0.0.1/doc",
    "https://192.168.1.1/doc",
    "https://172.16.0.1/doc",
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "https://127.0.0.1/doc",
    "https://127.8.9.10/doc",
    "https://0.0.0.0/doc",
    "https://100.64.0.1/doc",  # shared address space (RFC 6598)
    "https://224.0.0.1/doc",  # multicast
    "https://240.0.0.1/doc",  # reserved
    "https://255.255.255.255/doc",
    "https://[::1]/doc",
    "https://[::]/doc",
    "https://[fe80::1]/doc",
    "https://[fc00::1]/doc",
    "https://[ff02::1]/doc",
    "https://[ff0e::1]/doc",  # global-scope multicast: is_global alone would let it through
    "https://[::ffff:127.0.0.1]/doc",  # IPv4-mapped
    "https://[::ffff:10.0.0.1]/doc",
    "https://[::ffff:169.254.169.254]/doc",
    "https://[2002:7f00:1::]/doc",  # 6to4 around 127.0.0.1
    "https://[64:ff9b::a00:1]/doc",  # NAT64 around 10.0.0.1
    "https://localhost/doc",  # a name resolving to loopback
])
def test_private_addresses_are_refused(url: str) -> None:
    _refused(url, "private, loopback or reserved")


def test_public_addresses_pass_the_address_rule() -> None:
    for text in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"):
        assert is_public_address(ipaddress.ip_address(text)), text


def test_a_name_with_one_private_address_among_public_ones_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    _refused("https://docs.example/doc", "private")


def test_the_loopback_document_server_is_refused_without_allow_private(
        document_server: DocumentServer) -> None:
    url = document_server.serve("/doc", DOC)
    _refused(url, "private")
    _refused(document_server.url("/doc", host="localhost"), "private")
    assert document_server.hits == {}
    assert _fetch(url, allow_private=True) == DOC


# -- URL rules -----------------------------------------------------------------------------

@pytest.mark.parametrize("url,match", [
    ("ftp://example.com/doc", "Only https"),
    ("file:///etc/passwd", "Only https"),
    ("gopher://127.0.0.1:6379/_FLUSHALL", "Only https"),
    ("https://user:pw@example.com/doc", "userinfo"),
    ("https://@example.com/doc", "userinfo"),
    ("https:///doc", "no host"),
    ("https://example.com:99999/doc", "not valid"),
    ("https://exa mple.com/doc", "whitespace"),
    ("https://example.com/doc\r\nHost: evil", "whitespace"),
    ("https://example.com/" + "a" * 2048, "2048"),
])
def test_bad_urls_are_refused(url: str, match: str) -> None:
    _refused(url, match, allow_private=True)


def test_http_is_for_loopback_only_even_with_allow_private() -> None:
    _refused("http://10.0.0.1/doc", "Only https", allow_private=True)
    _refused("http://93.184.216.34/doc", "Only https", allow_private=True)
    _refused("http://93.184.216.34/doc", "Only https")


# -- pinning: one lookup, the checked address, the URL's host in Host ----------------------

def test_the_connection_goes_to_the_checked_address_with_the_urls_host(
        monkeypatch: pytest.MonkeyPatch, document_server: DocumentServer) -> None:
    """A second lookup could be answered differently (DNS rebinding): there is exactly one,
    and the request names the URL's host, not the address."""
    document_server.serve("/doc", DOC)
    calls: list[str] = []
    real = socket.getaddrinfo

    def fake(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        calls.append(host)
        if host == "docs.rebind.test":
            return real("127.0.0.1", port, *args, **kwargs)
        raise socket.gaierror("only the first lookup is allowed")

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    url = document_server.url("/doc", host="docs.rebind.test")
    assert _fetch(url, allow_private=True) == DOC
    assert calls == ["docs.rebind.test"]
    assert document_server.seen_hosts == [f"docs.rebind.test:{document_server.port}"]


# -- TLS: SNI and certificate checks use the URL's host ------------------------------------

def test_https_verifies_the_certificate_for_the_urls_host(
        tls_document_server: tuple[DocumentServer, ssl.SSLContext]) -> None:
    server, trust = tls_document_server
    server.serve("/doc", DOC)
    assert _fetch(server.url("/doc", host="localhost"), allow_private=True,
                  ssl_context=trust) == DOC
    # The same server by address: its certificate names localhost, not 127.0.0.1.
    _refused(server.url("/doc", host="127.0.0.1"), "TLS", allow_private=True, ssl_context=trust)
    # The system trust store does not know the self-signed certificate.
    _refused(server.url("/doc", host="localhost"), "TLS", allow_private=True)


# -- responses -----------------------------------------------------------------------------

def test_a_redirect_is_an_error_and_not_followed(document_server: DocumentServer) -> None:
    target = document_server.serve("/target", DOC)
    for status in (301, 302, 303, 307, 308):
        url = document_server.redirect(f"/moved{status}", target, status)
        _refused(url, "redirect", allow_private=True)
    assert "/target" not in document_server.hits


@pytest.mark.parametrize("status", [204, 404, 500])
def test_a_status_other_than_200_is_an_error(document_server: DocumentServer,
                                             status: int) -> None:
    url = document_server.serve("/doc", DOC, status=status)
    _refused(url, f"HTTP {status}", allow_private=True)


def test_a_slow_server_times_out(document_server: DocumentServer) -> None:
    url = document_server.serve("/slow", DOC, delay=3)
    started = time.monotonic()
    _refused(url, "timed out", allow_private=True, timeout=0.5)
    assert time.monotonic() - started < 1.5


def test_a_trickling_body_times_out_in_total(document_server: DocumentServer) -> None:
    """Each byte comes well within a per-read timeout; the total deadline still holds."""
    url = document_server.serve("/trickle", {"pad": "x" * 200}, chunk_delay=0.05)
    started = time.monotonic()
    _refused(url, "timed out", allow_private=True, timeout=0.6)
    assert time.monotonic() - started < 1.6


def test_a_huge_body_is_refused_by_its_length(document_server: DocumentServer) -> None:
    url = document_server.serve("/huge", {"pad": "x" * 20_000})
    _refused(url, "larger than 5120", allow_private=True)


def test_a_huge_body_without_length_is_cut_while_reading(
        document_server: DocumentServer) -> None:
    url = document_server.serve("/huge", {"pad": "x" * 200_000}, send_length=False)
    _refused(url, "larger than 5120", allow_private=True)


def test_a_compressed_body_is_refused(document_server: DocumentServer) -> None:
    url = document_server.serve("/gz", DOC, headers={"Content-Encoding": "gzip"})
    _refused(url, "compressed", allow_private=True)


@pytest.mark.parametrize("raw,match", [
    (b"<html>hello</html>", "not valid JSON"),
    (b"[1, 2, 3]", "not a JSON object"),
    (b'"client"', "not a JSON object"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b'\xef\xbb\xbf{"a": 1}', "not valid JSON"),  # a BOM
    (b'{"client_id": "a", "client_id": "b"}', "twice"),
    (b'{"n": NaN}', "not valid JSON"),
    (b"[" * 100_000, "larger"),
    (b"", "not valid JSON"),
])
def test_the_body_must_be_a_utf8_json_object(document_server: DocumentServer, raw: bytes,
                                             match: str) -> None:
    url = document_server.serve("/doc", raw=raw)
    _refused(url, match, allow_private=True)


def test_deep_nesting_is_an_error_not_a_crash(document_server: DocumentServer) -> None:
    url = document_server.serve("/deep", raw=b'{"a":' + b"[" * 4000 + b"]" * 4000 + b"}")
    _refused(url, "not valid JSON", allow_private=True, max_bytes=10_000)


def test_error_messages_do_not_echo_the_body(document_server: DocumentServer) -> None:
    url = document_server.serve("/doc", raw=b"secret-internal-page")
    with pytest.raises(FetchError) as caught:
        _fetch(url, allow_private=True)
    assert "secret-internal-page" not in str(caught.value)


# -- cache ---------------------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_cache_honours_max_age_within_bounds(document_server: DocumentServer) -> None:
    clock = Clock()
    cache = OutboundCache(min_ttl=60, max_ttl=600, clock=clock)
    url = document_server.serve("/doc", DOC, headers={"Cache-Control": "public, max-age=300"})
    assert _fetch(url, allow_private=True, cache=cache) == DOC
    clock.now += 299
    assert _fetch(url, allow_private=True, cache=cache) == DOC
    assert document_server.hits["/doc"] == 1
    clock.now += 2
    _fetch(url, allow_private=True, cache=cache)
    assert document_server.hits["/doc"] == 2


@pytest.mark.parametrize("header,ttl", [
    (None, 60), ("max-age=5", 60), ("max-age=99999999", 600), ("max-age=120", 120),
    ("no-store", 0), ("no-cache", 0), ("max-age=120, no-store", 0), ("max-age=abc", 0),
])
def test_cache_lifetimes(document_server: DocumentServer, header: str | None, ttl: int) -> None:
    clock = Clock()
    cache = OutboundCache(min_ttl=60, max_ttl=600, clock=clock)
    headers = {"Cache-Control": header} if header else {}
    url = document_server.serve("/doc", DOC, headers=headers)
    _fetch(url, allow_private=True, cache=cache)
    _fetch(url, allow_private=True, cache=cache)
    assert document_server.hits["/doc"] == (2 if ttl == 0 else 1)
    if ttl:
        clock.now += ttl - 0.5
        _fetch(url, allow_private=True, cache=cache)
        assert document_server.hits["/doc"] == 1
        clock.now += 1
        _fetch(url, allow_private=True, cache=cache)
        assert document_server.hits["/doc"] == 2


def test_the_cache_is_bounded_and_hands_out_copies() -> None:
    cache = OutboundCache(max_entries=3)
    for i in range(5):
        cache.put(f"https://x.example/{i}", FetchResult({"i": i}, 100))
    assert len(cache) == 3
    assert cache.get("https://x.example/0") is None
    assert cache.get("https://x.example/4") == FetchResult({"i": 4}, 100)


def test_a_failed_fetch_is_not_cached(document_server: DocumentServer) -> None:
    cache = OutboundCache()
    url = document_server.serve("/doc", raw=b"nope")
    _refused(url, "JSON", allow_private=True, cache=cache)
    document_server.serve("/doc", DOC)
    assert _fetch(url, allow_private=True, cache=cache) == DOC


def test_callers_cannot_change_the_cached_document(document_server: DocumentServer) -> None:
    cache = OutboundCache()
    url = document_server.serve("/doc", DOC)
    first = _fetch(url, allow_private=True, cache=cache)
    first["redirect_uris"].append("https://evil.example/cb")
    assert _fetch(url, allow_private=True, cache=cache) == DOC


# -- per app -------------------------------------------------------------------------------

def test_the_app_state_fetches_with_its_own_setting_and_cache(
        tmp_path: Any, private_key_pem: str, document_server: DocumentServer) -> None:
    base = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'a.sqlite'}",
            "PASSPORT_PRIVATE_KEY": private_key_pem}
    strict = make_app(dict(base))
    lenient = make_app({**base, "PASSPORT_OUTBOUND_ALLOW_PRIVATE": True})
    url = document_server.serve("/doc", DOC)
    with pytest.raises(FetchError, match="private"):
        strict.extensions["passport"].fetch_json(url, max_bytes=5120, timeout=2)
    state = lenient.extensions["passport"]
    assert state.fetch_json(url, max_bytes=5120, timeout=2) == DOC
    assert len(state.outbound_cache) == 1
    assert len(strict.extensions["passport"].outbound_cache) == 0
