"""A tiny threaded HTTP(S) server on 127.0.0.1 serving JSON documents the way a test tells it to:
plain, redirecting, slow, huge, not JSON. Used by the outbound-fetch and client metadata
document tests (``document_server`` fixture)."""

from __future__ import annotations

import contextlib
import datetime
import json
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Route:
    body: bytes = b"{}"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before the status line
    chunk_delay: float = 0.0  # between 1-byte chunks of the body (a trickle)
    send_length: bool = True


class DocumentServer:
    """Routes by path; ``hits`` counts requests per path; ``seen_hosts`` the Host headers."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        self.seen_hosts: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                server.seen_hosts.append(self.headers.get("Host", ""))
                route = server.routes.get(self.path, Route(b'{"error": "not found"}', 404))
                with contextlib.suppress(OSError):  # the client hung up (timeouts, caps)
                    self._send(route)

            def _send(self, route: Route) -> None:
                time.sleep(route.delay)
                self.send_response(route.status)
                self.send_header("Content-Type", "application/json")
                if route.send_length:
                    self.send_header("Content-Length", str(len(route.body)))
                self.send_header("Connection", "close")
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if route.chunk_delay:
                    for i in range(len(route.body)):
                        self.wfile.write(route.body[i:i + 1])
                        self.wfile.flush()
                        time.sleep(route.chunk_delay)
                else:
                    self.wfile.write(route.body)
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        scheme = "https" if tls is not None else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        scheme = self.base_url.split(":", 1)[0]
        return f"{scheme}://{host}:{self.port}{path}"

    def serve(self, path: str, document: Any = None, *, raw: bytes | None = None,
              **options: Any) -> str:
        """Serve ``document`` as JSON (or ``raw`` bytes) at ``path``; returns its URL."""
        body = raw if raw is not None else json.dumps(document).encode()
        self.routes[path] = Route(body=body, **options)
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        self.routes[path] = Route(b"", status, {"Location": location})
        return self.url(path)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def document_server() -> Iterator[DocumentServer]:
    server = DocumentServer()
    yield server
    server.close()


def self_signed(hostname: str, directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh certificate for ``hostname`` and a client context that
    trusts only it (verification and hostname checks on, as in production)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file = directory / "cert.pem"
    key_file = directory / "key.pem"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return server, client


@pytest.fixture
def tls_document_server() -> Iterator[tuple[DocumentServer, ssl.SSLContext]]:
    """An https document server whose certificate names ``localhost``, and a client context
    trusting it."""
    with tempfile.TemporaryDirectory() as directory:
        server_context, client_context = self_signed("localhost", Path(directory))
        server = DocumentServer(tls=server_context)
        yield server, client_context
        server.close()
