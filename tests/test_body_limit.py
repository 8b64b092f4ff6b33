"""Every Passport endpoint caps the request body it reads (413), chunked or not."""

from __future__ import annotations

import http.client
import io
import json
import select
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import app_processes, basic

from flask_passport.views.body_limit import MAX_BODY

FORM = "application/x-www-form-urlencoded"
# The padding parameter is ignored by every endpoint; only the size matters.
BIG = b"grant_type=client_credentials&pad=" + b"a" * (2 * MAX_BODY)


def _chunked(client: Any, path: str, body: bytes, **kwargs: Any) -> Any:
    """POST ``body`` with no Content-Length, as a server terminating a chunked stream passes it
    on (``wsgi.input_terminated``, what Werkzeug's and Gunicorn's servers set)."""
    return client.post(path, input_stream=io.BytesIO(body), content_type=FORM,
                       environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": "",
                                          "HTTP_TRANSFER_ENCODING": "chunked"}, **kwargs)


def test_chunked_token_request_over_the_cap_is_413(client: Any, machine_client: Any) -> None:
    resp = _chunked(client, "/oauth/token", BIG,
                    headers=basic(machine_client.client.id, machine_client.secret))
    assert resp.status_code == 413
    assert resp.json["error"] == "invalid_request" and "too large" in resp.json["error_description"]
    assert resp.headers["Cache-Control"] == "no-store"


def test_chunked_token_request_under_the_cap_works(client: Any, machine_client: Any) -> None:
    resp = _chunked(client, "/oauth/token", b"grant_type=client_credentials",
                    headers=basic(machine_client.client.id, machine_client.secret))
    assert resp.status_code == 200 and resp.json["access_token"]


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect",
                                  "/oauth/device/code", "/oauth/clients"])
def test_every_json_endpoint_caps_chunked_bodies(client: Any, path: str) -> None:
    resp = _chunked(client, path, BIG)
    assert resp.status_code == 413 and "too large" in resp.json["message"]


@pytest.mark.parametrize("path", ["/oauth/authorize", "/oauth/device", "/oauth/device/decide",
                                  "/oauth/reauthenticate"])
def test_every_page_caps_chunked_bodies(client: Any, path: str) -> None:
    resp = _chunked(client, path, BIG)
    assert resp.status_code == 413 and b"too large" in resp.data


def test_content_length_over_the_cap_is_413(client: Any) -> None:
    resp = client.post("/oauth/token", data=BIG, content_type=FORM)
    assert resp.status_code == 413 and resp.json["error"] == "invalid_request"


def _memory(port: int) -> dict[str, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/_memory")
        return json.loads(conn.getresponse().read())  # type: ignore[no-any-return]
    finally:
        conn.close()


def _stream(total: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    yield b"grant_type=client_credentials&pad="
    block = b"a" * chunk
    for _ in range(max(1, total // chunk)):
        yield block


def _post_chunked(port: int, size: int) -> int:
    """POST up to ``size`` bytes to the token endpoint in chunks, stopping as soon as the
    server answers (as a client reading its socket would); the response's status."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: " + FORM.encode() + b"\r\n"
                     b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        try:
            for block in _stream(size):
                if select.select([sock], [], [], 0)[0]:
                    break  # the server has answered
                sock.sendall(b"%x\r\n%s\r\n" % (len(block), block))
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while the client was still sending
        head = sock.recv(64)
    return int(head.split(b" ", 2)[1])


def test_a_real_server_refuses_a_64_mib_chunked_body_without_buffering_it(
    app_config: dict[str, Any]
) -> None:
    """Against a real server process: the response is 413 and the server's peak memory stays
    flat (reading the whole body, as the form parser did, costs at least its 64 MiB)."""
    with app_processes(app_config, count=1, routes=True) as (port,):
        # A first refused request loads what answering one needs, outside the measurement.
        assert _post_chunked(port, 2 * MAX_BODY) == 413
        before = _memory(port)
        assert _post_chunked(port, 64 * 1024 * 1024) == 413
        after = _memory(port)
    grown_kib = after["peak"] - before["peak"]
    assert grown_kib < 8 * 1024, f"peak memory grew by {grown_kib} KiB"
