"""Secrets hygiene (RFC 9700 §4.14 and RFC 6819 §5.1.4/§5.1.6):

* every flow run with the root logger at DEBUG and SQLAlchemy echoing statements, parameters
  and result rows: no plain client secret, password, code, PKCE verifier, refresh token or
  access token appears in the logs, on stdout/stderr, or in any error body;
* key files are written with safe modes whatever the umask;
* every ``==``/``!=`` in the package that involves a secret-looking name goes through
  ``tokens.secrets_equal``/``check_secret``, or is on a short allow-list with its reason.
"""

from __future__ import annotations

import ast
import logging
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import db, make_app, new_client
from flask import Flask
from management_helpers import login
from reliability_support import REDIRECT, consent_code
from standards_support import add_routes, basic, bearer

from flask_passport.jose import keys as keys_mod

PACKAGE = Path(__file__).resolve().parents[2] / "flask_passport"
PASSWORD = "secret-password"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # echo="debug" logs every statement, its parameters and every result row.
    return {**app_config, "PASSPORT_RATELIMIT_ENABLED": False, "SQLALCHEMY_ECHO": "debug"}


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything every logger emits, at DEBUG."""
    root = logging.getLogger()
    old = root.level
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy.engine", "sqlalchemy.pool", "flask_passport", "werkzeug"):
        logging.getLogger(name).disabled = False
    yield caplog
    root.setLevel(old)


class Collector:
    """Remembers every secret handed out, and every error body seen."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.error_bodies: list[str] = []

    def add(self, label: str, value: str | None) -> None:
        assert value, label
        self.secrets[label] = value
        # The verifier half of ``<selector>.<verifier>`` (the selector is a public row id) and
        # the signature of a JWT (its header and claims are readable by design).
        if label.startswith(("code", "refresh")):
            self.secrets[label + " verifier"] = value.split(".", 1)[1]
        if label.startswith("access"):
            self.secrets[label + " signature"] = value.rsplit(".", 1)[1]

    def seen(self, resp: Any) -> Any:
        if resp.status_code >= 300:
            self.error_bodies.append(resp.get_data(as_text=True)
                                     + str(resp.headers.get("Location", ""))
                                     + str(resp.headers.get("WWW-Authenticate", "")))
        return resp

    def token(self, http: Any, label: str, data: dict[str, str], **kw: Any) -> dict[str, Any]:
        resp = self.seen(http.post("/oauth/token", data=data, **kw))
        assert resp.status_code == 200, resp.json
        self.add(f"access {label}", resp.json["access_token"])
        if "refresh_token" in resp.json:
            self.add(f"refresh {label}", resp.json["refresh_token"])
        return resp.json  # type: ignore[no-any-return]


def test_no_secret_in_debug_logs_or_error_bodies(
    app: Flask, client: Any, user: Any, machine_client: Any, password_client: Any,
    personal_client: Any, authz_client: Any, authz_public_client: Any,
    debug_logs: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str],
) -> None:
    add_routes(app)
    c = Collector()
    c.secrets["user password"] = PASSWORD
    for label, created in (("machine", machine_client), ("password", password_client),
                           ("authz", authz_client)):
        c.add(f"client secret {label}", created.secret)
    mc, pc = machine_client, password_client

    # Client credentials, by Basic and by body; password grant; refresh.
    c.token(client, "cc basic", {"grant_type": "client_credentials"},
            headers=basic(mc.client.id, mc.secret))
    c.token(client, "cc body", {"grant_type": "client_credentials", "client_id": mc.client.id,
                                "client_secret": mc.secret})
    first = c.token(client, "password", {
        "grant_type": "password", "client_id": pc.client.id, "client_secret": pc.secret,
        "username": user.email, "password": PASSWORD, "scope": "check-status"})
    second = c.token(client, "refreshed", {
        "grant_type": "refresh_token", "client_id": pc.client.id, "client_secret": pc.secret,
        "refresh_token": first["refresh_token"]})

    # Authorization code through the consent page: confidential, and public with PKCE.
    csrf_headers = login(client, user)
    code = consent_code(client, authz_client.client.id)
    c.add("code confidential", code)
    code_pair = c.token(client, "code", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": authz_client.client.id, "client_secret": authz_client.secret})
    verifier = "pkce-" + "k" * 60
    c.secrets["pkce verifier"] = verifier
    public_code = consent_code(client, authz_public_client.client.id, verifier=verifier)
    c.add("code public", public_code)
    c.token(client, "pkce", {
        "grant_type": "authorization_code", "code": public_code, "redirect_uri": REDIRECT,
        "client_id": authz_public_client.client.id, "code_verifier": verifier})

    # Personal access tokens: from Python and from the JSON API; the other JSON APIs.
    with app.test_request_context():
        from conftest import User

        owner = db.session.get(User, user.id)
        c.add("access personal python", owner.create_token("cli", ["check-status"]).access_token)
    made = c.seen(client.post("/oauth/personal-access-tokens", json={"name": "api"},
                              headers=csrf_headers))
    assert made.status_code == 201
    c.add("access personal api", made.json["accessToken"])
    new = c.seen(client.post("/oauth/clients", json={"name": "Mine", "redirect_uris": [REDIRECT]},
                             headers=csrf_headers))
    assert new.status_code == 201
    c.add("client secret api", new.json["secret"])
    again = c.seen(client.post(f"/oauth/clients/{new.json['id']}/secret", headers=csrf_headers))
    c.add("client secret regenerated", again.json["secret"])
    for path in ("/oauth/clients", "/oauth/tokens", "/oauth/personal-access-tokens"):
        assert c.seen(client.get(path)).status_code == 200

    # Protected routes, introspection, revocation.
    assert c.seen(client.get("/t/me", headers=bearer(second["access_token"]))).status_code == 200
    rs = new_client(app, "client_credentials", name="rs", grant_types=["introspect"])
    c.add("client secret rs", rs.secret)
    for value in (second["access_token"], second["refresh_token"]):
        resp = c.seen(client.post("/oauth/introspect", data={"token": value},
                                  headers=basic(rs.client.id, rs.secret)))
        assert resp.json["active"] is True
    resp = c.seen(client.post("/oauth/revoke", data={"token": second["refresh_token"]},
                              headers=basic(pc.client.id, pc.secret)))
    assert resp.status_code == 200

    # Failures that carry a secret: each answer must not echo it.
    failures = [
        client.post("/oauth/token", data={"grant_type": "client_credentials",
                                          "client_id": mc.client.id,
                                          "client_secret": mc.secret + "x"}),
        client.post("/oauth/token", data={"grant_type": "password", "client_id": pc.client.id,
                                          "client_secret": pc.secret, "username": user.email,
                                          "password": PASSWORD + "x"}),
        client.post("/oauth/token", data={  # a replayed code
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": authz_client.client.id, "client_secret": authz_client.secret}),
        client.post("/oauth/token", data={  # a rotated refresh token (reuse)
            "grant_type": "refresh_token", "client_id": pc.client.id,
            "client_secret": pc.secret, "refresh_token": first["refresh_token"]}),
        client.post("/oauth/token", data={  # a refresh token of another client
            "grant_type": "refresh_token", "client_id": authz_client.client.id,
            "client_secret": authz_client.secret, "refresh_token": second["refresh_token"]}),
        client.post("/oauth/token", data={"grant_type": "authorization_code",
                                          "code": public_code + "x", "redirect_uri": REDIRECT,
                                          "client_id": authz_public_client.client.id,
                                          "code_verifier": verifier}),
        client.get("/t/me", headers=bearer(code_pair["access_token"])),  # revoked by replay
        client.get("/t/me", headers=bearer(second["access_token"] + "x")),
        client.get("/t/me", headers=bearer(c.secrets["client secret machine"])),
        client.post("/oauth/introspect", data={"token": second["access_token"]},
                    headers=basic(rs.client.id, rs.secret + "x")),
        client.post("/oauth/revoke", data={"token": first["refresh_token"]},
                    headers=basic(pc.client.id, "wrong-" + pc.secret)),
    ]
    assert all(c.seen(r).status_code >= 400 for r in failures), [r.status_code for r in failures]

    out, err = capfd.readouterr()
    logs = debug_logs.text + "\n".join(
        r.getMessage() + str(r.exc_text or "") for r in debug_logs.records)
    # The capture really saw SQL with its parameters and rows (else the test proves nothing).
    assert "oauth_refresh_tokens" in logs and "[generated in" in logs and "Row (" in logs
    leaks = [label for label, value in c.secrets.items()
             if value in logs or value in out or value in err]
    assert leaks == [], f"secrets in logs: {leaks}"
    in_bodies = [label for label, value in c.secrets.items()
                 if any(value in body for body in c.error_bodies)]
    assert in_bodies == [], f"secrets in error bodies: {in_bodies}"
    assert len(c.secrets) >= 25 and len(c.error_bodies) >= len(failures)


# -- key files --------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask: modes must come from the code, not the environment."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_key_files_have_safe_modes_whatever_the_umask(tmp_path: Path, open_umask: None) -> None:
    private, public = keys_mod.write_key_pair(tmp_path, keys_mod.generate_private_key("EC"))
    assert _mode(private) == 0o600 and _mode(public) == 0o644
    # --force over a private key someone left world-readable: the new file is 0600 again.
    private.chmod(0o666)
    private, _ = keys_mod.write_key_pair(tmp_path, keys_mod.generate_private_key("EC"),
                                         force=True)
    assert _mode(private) == 0o600


def test_cli_keys_and_rotation_write_safe_modes(app_config: dict[str, Any], tmp_path: Path,
                                                open_umask: None) -> None:
    key_dir = tmp_path / "keys"
    cli_app = make_app({**app_config, "PASSPORT_PRIVATE_KEY": None,
                        "PASSPORT_KEY_PATH": str(key_dir)})
    runner = cli_app.test_cli_runner()
    result = runner.invoke(args=["passport", "keys"])
    assert result.exit_code == 0, result.output
    assert _mode(key_dir / keys_mod.PRIVATE_KEY_FILE) == 0o600
    assert _mode(key_dir / keys_mod.PUBLIC_KEY_FILE) == 0o644
    result = runner.invoke(args=["passport", "keys", "--rotate"])
    assert result.exit_code == 0, result.output
    assert _mode(key_dir / keys_mod.PRIVATE_KEY_FILE) == 0o600
    written = [p for p in key_dir.rglob("*") if p.is_file()]
    assert len(written) >= 3
    for path in written:
        # Nothing is writable by others (a writable verifying key lets anyone forge tokens),
        # and private keys are readable by the owner only.
        assert not _mode(path) & 0o022, (path, oct(_mode(path)))
        if "PRIVATE KEY" in path.read_text():
            assert _mode(path) == 0o600, path


# -- constant-time comparisons ------------------------------------------------------------------

#: Names that look like secrets. An ``==``/``!=`` whose source mentions one must use
#: ``tokens.secrets_equal``/``check_secret`` instead, unless it is allowed below.
SECRET_NAMES = re.compile(
    r"secret|token|code|hash|verifier|digest|password|challenge|jti|csrf|nonce|signature",
    re.IGNORECASE)

#: Model classes: ``Model.column == value`` builds a SQL ``WHERE``; nothing is compared in
#: Python. Those lookups use public identifiers only (row ids, the selector half of an opaque
#: token, family ids, user and client ids); the secret half is then checked with check_secret.
MODEL_NAMES = {"AccessToken", "RefreshToken", "AuthCode", "Client", "DeviceCode", "Pending",
               "Pushed"}

#: Python comparisons that involve a secret-looking *name* but no secret value.
ALLOWED: dict[tuple[str, str], str] = {
    ("storage/api_tokens.py", "token.user_id == user_id_of(self)"): "user ids are not secrets",
    ("storage/management.py", "token.id == token_id"):
        "a token's row id is its jti, a public claim",
    ("jose/keys.py", "self.id_token_signing.kid == kid"): "a key id, public (the JWKS lists it)",
    ("oauth2/authorization.py", 'response_type == "code"'): "protocol parameter value",
    ("oauth2/authorization.py", 'response_type == "token"'): "protocol parameter value",
    ("oauth2/authorization.py", 'self.response_type == "token"'): "protocol parameter value",
    ("oauth2/authorization.py", 'request.response_type == "token"'): "protocol parameter value",
    ("oauth2/authorization.py", 'request.response_type == "code"'): "protocol parameter value",
    ("oauth2/authorization.py", 'params.get("response_type") == "token"'):
        "protocol parameter value",
    ("oauth2/introspection.py", "found.kind == ACCESS_TOKEN"): "which kind of token, an enum",
    ("oauth2/revocation_endpoint.py", "found.kind == REFRESH_TOKEN"): "token kind, an enum",
    ("oauth2/token_lookup.py", "hint == REFRESH_TOKEN"): "token_type_hint, an enum (RFC 7009)",
    ("oauth2/token_lookup.py", "kind == ACCESS_TOKEN"): "token kind, an enum",
    ("oauth2/metadata.py", 'grant == "password"'): "a grant type name",
    ("oauth2/server.py", "grant_type == password.GRANT_TYPE"): "a grant type name",
    ("oauth2/registration.py", 'auth_method == "client_secret_jwt"'):
        "a token_endpoint_auth_method name (RFC 7591 §2), not a secret",
    ("oauth2/grants/authorization_code.py", "row.code_challenge_method == pkce.PLAIN"):
        "a PKCE method name (RFC 7636 §4.3), not the challenge",
    ("resource/resource_server.py", 'data.get("token_type") != "Bearer"'): "token_type, an enum",
    ("views/token.py", 'request.mimetype != "application/x-www-form-urlencoded"'):
        "a content type",
    ("views/oidc.py", 'request.mimetype == "application/x-www-form-urlencoded"'):
        "a content type",
    ("oauth2/device.py", "len(code) != USER_CODE_LENGTH"): "a length check of the input",
    ("jose/jws.py", 'base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != segment'):
        "the presented segment against its own re-encoding (canonical base64): both sides "
        "come from the caller's input, nothing secret is involved",
    ("jose/jws.py", "len(signature) != 2 * size"): "a length check (RFC 7518 §3.4), not a value",
    ("resource/guard.py", "column == sa.case((digits, as_integer))"):
        "a SQL ON clause between two columns (user key, token's user id); nothing is compared "
        "in Python",
    ("oauth2/client_keys.py", "method == CLIENT_SECRET_JWT"):
        "a token_endpoint_auth_method name (RFC 7591 §2), not a secret; the one place that "
        "says which clients keep an encrypted secret",
    ("resource/guard.py", "column == as_integer"):
        "a SQL ON clause between two columns (user key, token's user id); nothing is compared "
        "in Python",
}


def _is_sql_expression(node: ast.Compare) -> bool:
    for side in (node.left, *node.comparators):
        if isinstance(side, ast.Attribute) and isinstance(side.value, ast.Name) \
                and side.value.id in MODEL_NAMES:
            return True
        # A Core table column, ``table.c.column``: also a SQL WHERE.
        if isinstance(side, ast.Attribute) and isinstance(side.value, ast.Attribute) \
                and side.value.attr == "c":
            return True
    return False


def secret_comparisons() -> list[str]:
    """``file:line: source`` of every suspicious comparison in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text("utf-8")
        relative = path.relative_to(PACKAGE).as_posix()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Compare):
                continue
            if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                continue
            segment = ast.get_source_segment(source, node) or ""
            if not SECRET_NAMES.search(segment) or _is_sql_expression(node):
                continue
            if (relative, " ".join(segment.split())) in ALLOWED:
                continue
            found.append(f"{relative}:{node.lineno}: {segment}")
    return found


def test_every_secret_comparison_is_constant_time() -> None:
    offenders = secret_comparisons()
    assert offenders == [], (
        "compare secrets with flask_passport.jose.tokens.secrets_equal/check_secret (or add a "
        "justified entry to ALLOWED):\n" + "\n".join(offenders))


def test_the_scanner_catches_a_plain_comparison(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan is not vacuous: a plain ``==`` on a secret is reported, a SQL one is not."""
    fake = tmp_path / "flask_passport"
    fake.mkdir()
    (fake / "bad.py").write_text(
        "def ok(row, presented):\n"
        "    if row.secret_hash == hash_secret(presented):\n"
        "        return RefreshToken.id == presented\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    assert secret_comparisons() == ["bad.py:2: row.secret_hash == hash_secret(presented)"]
