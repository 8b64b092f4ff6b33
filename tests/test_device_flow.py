"""The device authorization grant (RFC 8628): the device authorization endpoint, the
verification page bound to the user who entered the code (RFC 8628 §3.3), every polling answer,
single use, metadata, settings, the CLI and the migration. Every test runs on SQLite and, when
configured, PostgreSQL."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import User, db, make_app, new_client
from flask import Flask

from flask_passport.oauth2.device import USER_CODE_ALPHABET, normalize_user_code
from flask_passport.storage.models import utcnow

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def device_client(app: Flask) -> Any:
    return new_client(app, "device", name="Living Room TV")


@pytest.fixture
def other_user(app: Flask) -> User:
    with app.app_context():
        u = User(email="mallory@example.com")
        u.set_password("other-password")
        db.session.add(u)
        db.session.commit()
        db.session.refresh(u)
        db.session.expunge(u)
        return u


def start(client: Any, client_id: str, **extra: str) -> Any:
    return client.post("/oauth/device/code", data={"client_id": client_id, **extra})


def poll(client: Any, client_id: str, device_code: str) -> Any:
    return client.post("/oauth/token", data={"grant_type": GRANT, "device_code": device_code,
                                             "client_id": client_id})


def hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))


def enter_code(browser: Any, user_code: str) -> Any:
    page = browser.get("/oauth/device")
    assert page.status_code == 200
    fields = hidden_fields(page.get_data(as_text=True))
    return browser.post("/oauth/device", data={"csrf_token": fields["csrf_token"],
                                               "user_code": user_code})


def decide(browser: Any, consent_html: str, approve: bool = True) -> Any:
    fields = hidden_fields(consent_html)
    data = {"csrf_token": fields["csrf_token"], "auth_token": fields["auth_token"]}
    data["approve" if approve else "deny"] = "1"
    return browser.post("/oauth/device/decide", data=data)


def rewind_poll(app: Flask, seconds: int = 60) -> None:
    """Pretend the last poll was long ago (instead of sleeping through the interval)."""
    with app.app_context():
        DeviceCode = app.extensions["passport"].models.DeviceCode
        db.session.execute(sa.update(DeviceCode).values(
            last_polled_at=utcnow() - timedelta(seconds=seconds)))
        db.session.commit()


# -- the device authorization endpoint (§3.1-§3.2) ----------------------------------------------


def test_device_authorization_response(app: Flask, client: Any, device_client: Any) -> None:
    resp = start(client, device_client.client.id, scope="check-status place-orders")
    assert resp.status_code == 200, resp.json
    assert resp.headers["Cache-Control"] == "no-store"
    body = resp.json
    assert set(body) == {"device_code", "user_code", "verification_uri",
                         "verification_uri_complete", "expires_in", "interval"}
    assert body["verification_uri"] == "http://localhost/oauth/device"
    assert body["verification_uri_complete"] == (
        f"http://localhost/oauth/device?user_code={body['user_code']}")
    assert body["expires_in"] == 600 and body["interval"] == 5
    assert re.fullmatch(f"[{USER_CODE_ALPHABET}]{{4}}-[{USER_CODE_ALPHABET}]{{4}}",
                        body["user_code"])
    # Only digests at rest: neither code appears in the row.
    with app.app_context():
        row = db.session.scalars(sa.select(app.extensions["passport"].models.DeviceCode)).one()
        stored = " ".join(str(getattr(row, c.key)) for c in row.__table__.columns)
        assert body["device_code"].split(".")[1] not in stored
        assert normalize_user_code(body["user_code"]) not in stored
        assert body["user_code"] not in stored
        assert row.status == "pending" and row.user_id is None
        assert row.scopes == ["check-status", "place-orders"]


def test_user_codes_are_random_and_normalized() -> None:
    from flask_passport.oauth2.device import new_user_code

    codes = {new_user_code() for _ in range(200)}
    assert len(codes) == 200
    assert normalize_user_code("bcdf ghjk") == "BCDFGHJK"
    assert normalize_user_code("BCDF-GHJK") == "BCDFGHJK"
    for bad in ("", "BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "0000-0000", "x" * 100, None):
        assert normalize_user_code(bad) is None


def test_device_endpoint_errors(app: Flask, client: Any, device_client: Any,
                                authz_client: Any) -> None:
    assert client.get("/oauth/device/code").status_code == 405
    resp = client.post("/oauth/device/code", data={"scope": "check-status"})
    assert resp.status_code == 401 and resp.json["error"] == "invalid_client"
    resp = start(client, "no-such-client")
    assert resp.status_code == 401 and resp.json["error"] == "invalid_client"
    resp = start(client, device_client.client.id, client_secret="guess")
    assert resp.status_code == 401 and resp.json["error"] == "invalid_client"
    resp = start(client, authz_client.client.id, client_secret=authz_client.secret)
    assert resp.status_code == 400 and resp.json["error"] == "unauthorized_client"
    resp = start(client, device_client.client.id, scope="launch-missiles")
    assert resp.status_code == 400 and resp.json["error"] == "invalid_scope"
    resp = start(client, device_client.client.id, scope="*")
    assert resp.status_code == 400 and resp.json["error"] == "invalid_scope"
    resp = client.post("/oauth/device/code", data="client_id=x",
                       content_type="application/json")
    assert resp.status_code == 400 and resp.json["error"] == "invalid_request"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(
            app.extensions["passport"].models.DeviceCode)) == 0


def test_confidential_device_client_authenticates(app: Flask, client: Any) -> None:
    created = new_client(app, "client_credentials", grant_types=[GRANT])
    assert start(client, created.client.id).json["error"] == "invalid_client"
    resp = start(client, created.client.id, client_secret=created.secret)
    assert resp.status_code == 200
    device_code = resp.json["device_code"]
    assert poll(client, created.client.id, device_code).json["error"] == "invalid_client"


# -- polling (§3.4-§3.5) -----------------------------------------------------------------------


def test_full_flow_pending_approve_tokens_once(app: Flask, client: Any, device_client: Any,
                                               user: Any, authz_login: Any) -> None:
    cid = device_client.client.id
    body = start(client, cid, scope="place-orders").json
    device = app.test_client()

    resp = poll(device, cid, body["device_code"])
    assert resp.status_code == 400 and resp.json["error"] == "authorization_pending"
    assert resp.headers["Cache-Control"] == "no-store"

    authz_login(client, user)
    consent = enter_code(client, body["user_code"].lower().replace("-", " "))
    html = consent.get_data(as_text=True)
    assert consent.status_code == 200
    assert "Living Room TV" in html and "Place orders" in html and body["user_code"] in html
    assert consent.headers["X-Frame-Options"] == "DENY"
    done = decide(client, html, approve=True)
    assert done.status_code == 200 and "Device connected" in done.get_data(as_text=True)

    rewind_poll(app)
    resp = poll(device, cid, body["device_code"])
    assert resp.status_code == 200, resp.json
    tokens = resp.json
    assert tokens["token_type"] == "Bearer" and tokens["scope"] == "place-orders"
    assert tokens["refresh_token"]
    with app.app_context():
        models = app.extensions["passport"].models
        token = db.session.scalars(sa.select(models.AccessToken)).one()
        assert token.user_id == str(user.id) and token.client_id == cid
        row = db.session.scalars(sa.select(models.DeviceCode)).one()
        assert row.status == "consumed" and row.access_token_id == token.id

    # Exactly once: a second poll (even on time) gets nothing.
    rewind_poll(app)
    resp = poll(device, cid, body["device_code"])
    assert resp.status_code == 400 and resp.json["error"] == "invalid_grant"
    # The refresh token works like any other.
    refreshed = device.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": cid})
    assert refreshed.status_code == 200, refreshed.json


def test_slow_down_raises_the_interval(app: Flask, client: Any, device_client: Any) -> None:
    cid = device_client.client.id
    code = start(client, cid).json["device_code"]
    assert poll(client, cid, code).json["error"] == "authorization_pending"
    resp = poll(client, cid, code)
    assert resp.status_code == 400 and resp.json["error"] == "slow_down"
    assert "10 seconds" in resp.json["error_description"]
    with app.app_context():
        row = db.session.scalars(sa.select(app.extensions["passport"].models.DeviceCode)).one()
        assert row.interval == 10  # RFC 8628 §3.5: +5 s for this and all later requests
    # Waiting the old interval is no longer enough; the new one is.
    rewind_poll(app, 6)
    assert poll(client, cid, code).json["error"] == "slow_down"
    rewind_poll(app, 16)
    assert poll(client, cid, code).json["error"] == "authorization_pending"


def test_denied_then_access_denied(app: Flask, client: Any, device_client: Any, user: Any,
                                   authz_login: Any) -> None:
    cid = device_client.client.id
    body = start(client, cid).json
    authz_login(client, user)
    done = decide(client, enter_code(client, body["user_code"]).get_data(as_text=True),
                  approve=False)
    assert done.status_code == 200 and "Request denied" in done.get_data(as_text=True)
    resp = poll(app.test_client(), cid, body["device_code"])
    assert resp.status_code == 400 and resp.json["error"] == "access_denied"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(
            app.extensions["passport"].models.AccessToken)) == 0


def test_expired_token(app: Flask, client: Any, device_client: Any, user: Any,
                       authz_login: Any) -> None:
    cid = device_client.client.id
    body = start(client, cid).json
    authz_login(client, user)
    consent = enter_code(client, body["user_code"])
    with app.app_context():
        DeviceCode = app.extensions["passport"].models.DeviceCode
        db.session.execute(sa.update(DeviceCode).values(expires_at=utcnow() - timedelta(1)))
        db.session.commit()
    # Too late to approve, too late to poll, too late to enter.
    assert decide(client, consent.get_data(as_text=True)).status_code == 400
    resp = poll(client, cid, body["device_code"])
    assert resp.status_code == 400 and resp.json["error"] == "expired_token"
    assert enter_code(client, body["user_code"]).status_code == 400


def test_poll_errors(app: Flask, client: Any, device_client: Any) -> None:
    cid = device_client.client.id
    code = start(client, cid).json["device_code"]
    missing = client.post("/oauth/token", data={"grant_type": GRANT, "client_id": cid})
    assert missing.json["error"] == "invalid_request"
    for bad in ("nonsense", code + "x", code.split(".")[0] + ".wrong", "." * 600):
        assert poll(client, cid, bad).json["error"] == "invalid_grant", bad
    other = new_client(app, "device", name="Other device")
    resp = poll(client, other.client.id, code)
    assert resp.json["error"] == "invalid_grant"
    not_device = new_client(app, "public", name="SPA")
    resp = poll(client, not_device.client.id, code)
    assert resp.json["error"] == "unauthorized_client"


# -- the verification page and the binding to the user (§3.3) -----------------------------


def test_verification_page_requires_login_and_prefills(app: Flask, client: Any, user: Any,
                                                       authz_login: Any) -> None:
    resp = client.get("/oauth/device?user_code=BCDF-GHJK")
    assert resp.status_code == 302
    assert "/test-login?next=" in resp.headers["Location"]
    assert "user_code%3DBCDF-GHJK" in resp.headers["Location"]
    authz_login(client, user)
    page = client.get("/oauth/device?user_code=BCDF-GHJK")
    assert page.status_code == 200
    assert 'value="BCDF-GHJK"' in page.get_data(as_text=True)
    # No CSRF token, no entry.
    resp = client.post("/oauth/device", data={"user_code": "BCDF-GHJK"})
    assert resp.status_code == 400
    assert "did not come from this site" in resp.get_data(as_text=True)


def test_approval_is_bound_to_the_user_who_entered_the_code(
    app: Flask, client: Any, device_client: Any, user: Any, other_user: Any, authz_login: Any
) -> None:
    """RFC 8628 §3.3: nobody but the user who entered the code can approve it."""
    cid = device_client.client.id
    body = start(client, cid).json
    authz_login(client, user)
    consent_html = enter_code(client, body["user_code"]).get_data(as_text=True)

    # Another account entering the same code is refused: it is bound to the first user.
    mallory = app.test_client()
    authz_login(mallory, other_user)
    refused = enter_code(mallory, body["user_code"])
    assert refused.status_code == 400
    assert "another account" in refused.get_data(as_text=True)

    # Another account replaying the first user's consent form (key and all) is refused.
    fields = hidden_fields(consent_html)
    mallory_csrf = hidden_fields(mallory.get("/oauth/device").get_data(as_text=True))
    resp = mallory.post("/oauth/device/decide", data={
        "csrf_token": mallory_csrf["csrf_token"], "auth_token": fields["auth_token"],
        "approve": "1"})
    assert resp.status_code == 400

    # The same browser, after a switch of account, cannot approve what the first user entered.
    with client.session_transaction() as sess:
        sess["_user_id"] = str(other_user.id)
    resp = decide(client, consent_html)
    assert resp.status_code == 400
    with app.app_context():
        row = db.session.scalars(sa.select(app.extensions["passport"].models.DeviceCode)).one()
        assert row.status == "pending" and row.user_id == str(user.id)

    # The protocol refuses too, whatever the view does.
    from flask_passport.oauth2 import device as device_flow

    with app.test_request_context():
        state = app.extensions["passport"]
        ctx = state.context()
        intruder = db.session.get(User, other_user.id)
        assert device_flow.decide(ctx, row.id, intruder, approved=True) is None
        assert not device_flow.claim(ctx, row.id, str(other_user.id))
        ctx.rollback()

    # The user who entered it can still approve, and the tokens are theirs.
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
    consent_html = enter_code(client, body["user_code"]).get_data(as_text=True)
    assert decide(client, consent_html).status_code == 200
    resp = poll(app.test_client(), cid, body["device_code"])
    assert resp.status_code == 200
    with app.app_context():
        token = db.session.scalars(sa.select(app.extensions["passport"].models.AccessToken)).one()
        assert token.user_id == str(user.id)


def test_consent_form_is_single_use(app: Flask, client: Any, device_client: Any, user: Any,
                                    authz_login: Any) -> None:
    body = start(client, device_client.client.id).json
    authz_login(client, user)
    html = enter_code(client, body["user_code"]).get_data(as_text=True)
    assert decide(client, html, approve=False).status_code == 200
    assert decide(client, html, approve=True).status_code == 400
    assert enter_code(client, body["user_code"]).status_code == 400


def test_wrong_user_codes_are_limited_per_user(app: Flask, client: Any, user: Any,
                                               authz_login: Any) -> None:
    authz_login(client, user)
    for _ in range(10):
        resp = enter_code(client, "BCDF-GHJK")
        assert resp.status_code == 400
        assert "not valid" in resp.get_data(as_text=True)
    resp = enter_code(client, "BCDF-GHJK")
    assert resp.status_code == 429
    assert "Too many wrong codes" in resp.get_data(as_text=True)


def test_a_right_user_code_does_not_use_up_the_budget(app: Flask, client: Any, user: Any,
                                                      device_client: Any,
                                                      authz_login: Any) -> None:
    """Each entry is counted before the lookup and handed back unless the code was wrong."""
    authz_login(client, user)
    for _ in range(9):
        assert enter_code(client, "BCDF-GHJK").status_code == 400
    body = start(client, device_client.client.id).json
    assert enter_code(client, body["user_code"]).status_code == 200
    assert enter_code(client, "BCDF-GHJK").status_code == 400  # the tenth wrong code
    assert enter_code(client, "BCDF-GHJK").status_code == 429


# -- metadata, settings, CLI, migration ---------------------------------------------------------


def test_metadata_advertises_the_device_grant(client: Any) -> None:
    meta = client.get("/.well-known/oauth-authorization-server").json
    assert meta["device_authorization_endpoint"] == "http://localhost/oauth/device/code"
    assert GRANT in meta["grant_types_supported"]


def test_metadata_without_the_grant(app: Flask, client: Any, passport: Any) -> None:
    passport._token_endpoint.grants.pop(GRANT)
    try:
        meta = client.get("/.well-known/oauth-authorization-server").json
    finally:
        from flask_passport.oauth2.grants import device_code

        passport._token_endpoint.register(GRANT, device_code.handle)
    assert "device_authorization_endpoint" not in meta
    assert GRANT not in meta["grant_types_supported"]


def test_lifetime_and_interval_are_configurable(app_config: dict[str, Any]) -> None:
    from flask_passport import Passport

    passport = Passport()
    app = make_app(app_config | {"PASSPORT_DEVICE_CODE_INTERVAL": 2,
                                 "PASSPORT_ISSUER": "https://auth.example.com/"}, passport)
    passport.device_codes_expire_in(timedelta(minutes=3))
    with app.app_context():
        db.create_all()
    try:
        created = new_client(app, "device")
        body = start(app.test_client(), created.client.id).json
        assert body["expires_in"] == 180 and body["interval"] == 2
        assert body["verification_uri"] == "https://auth.example.com/oauth/device"
    finally:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def test_interval_setting_is_validated() -> None:
    from flask_passport.settings import Settings

    for bad in (-1, "soon"):
        with pytest.raises(ValueError, match="PASSPORT_DEVICE_CODE_INTERVAL"):
            Settings.load({"PASSPORT_DEVICE_CODE_INTERVAL": bad}, {}, instance_path="/tmp")
    settings = Settings.load({"PASSPORT_DEVICE_CODE_INTERVAL": "0"}, {}, instance_path="/tmp")
    assert settings.device_code_interval == 0


def test_cli_creates_a_device_client(app: Flask) -> None:
    import json

    result = app.test_cli_runner().invoke(args=["passport", "client", "--device",
                                                "--name", "Kitchen TV", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["secret"] is None and data["confidential"] is False
    assert data["grant_types"] == [GRANT, "refresh_token"]
    assert start(app.test_client(), data["id"]).status_code == 200


# Flask-Migrate's generated env.py still calls Flask-SQLAlchemy's deprecated get_engine().
@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")
def test_migration_creates_the_device_codes_table(tmp_path: Path, app: Flask) -> None:
    from flask import Flask as FlaskApp
    from flask_migrate import Migrate, downgrade, init, upgrade
    from flask_sqlalchemy import SQLAlchemy

    from flask_passport import Passport

    enabled = [lg for lg in logging.Logger.manager.loggerDict.values()
               if isinstance(lg, logging.Logger) and not lg.disabled]
    other_db = SQLAlchemy()
    migrated = FlaskApp("migrated")
    migrated.config.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'm.sqlite'}",
                           PASSPORT_PRIVATE_KEY=None)
    other_db.init_app(migrated)
    folder = str(tmp_path / "migrations")
    Migrate(migrated, other_db, directory=folder)
    Passport(migrated, db=other_db)
    try:
        with migrated.app_context():
            init(directory=folder)
            upgrade(directory=folder, revision="passport@head")
            inspector = sa.inspect(other_db.engine)
            columns = {c["name"] for c in inspector.get_columns("oauth_device_codes")}
            model_columns = {c.name for c in Passport(db=other_db).models.DeviceCode.__table__.c}
            downgrade(directory=folder, revision="b2c0ffee0002")
            assert "oauth_device_codes" not in sa.inspect(other_db.engine).get_table_names()
            other_db.engine.dispose()
    finally:
        for lg in enabled:
            lg.disabled = False
    assert columns == model_columns


def test_purge_removes_old_device_codes(app: Flask, client: Any, device_client: Any) -> None:
    cid = device_client.client.id
    old_code = start(client, cid).json["device_code"]
    start(client, cid)  # a live one, kept
    with app.app_context():
        DeviceCode = app.extensions["passport"].models.DeviceCode
        db.session.execute(sa.update(DeviceCode).where(DeviceCode.id == old_code.split(".")[0])
                           .values(expires_at=utcnow() - timedelta(days=30)))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["passport", "purge", "--expired"])
    assert result.exit_code == 0, result.output
    assert "Purged 1 device codes." in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DeviceCode)) == 1


def test_device_decisions_send_signals(app: Flask, client: Any, device_client: Any,
                                       user: Any, authz_login: Any) -> None:
    from flask_passport import signals

    seen: list[tuple[str, dict[str, Any]]] = []

    def record(name: str) -> Any:
        def receiver(sender: Any, **kwargs: Any) -> None:
            client = kwargs.get("client")
            seen.append((name, {**kwargs, "client_id": getattr(client, "id", None)}))
        return receiver

    approved, created = record("approved"), record("created")
    signals.authorization_approved.connect(approved)
    signals.access_token_created.connect(created)
    try:
        body = start(client, device_client.client.id).json
        authz_login(client, user)
        decide(client, enter_code(client, body["user_code"]).get_data(as_text=True))
        assert poll(client, device_client.client.id, body["device_code"]).status_code == 200
    finally:
        signals.authorization_approved.disconnect(approved)
        signals.access_token_created.disconnect(created)
    names = [name for name, _ in seen]
    assert names == ["approved", "created"]
    assert seen[0][1]["scopes"] == ["check-status"]
    assert seen[0][1]["client_id"] == device_client.client.id
    assert seen[1][1]["grant_type"] == GRANT and seen[1][1]["user_id"] == str(user.id)


def test_use_device_code_model(app: Flask, passport: Any) -> None:
    default = passport.models.DeviceCode
    assert default.__tablename__ == "oauth_device_codes"

    # Any class made from DeviceCodeMixin; a stand-in keeps the shared metadata untouched.
    Replacement = type("Replacement", (), {})

    passport.use_device_code_model(Replacement)
    try:
        assert passport.models.DeviceCode is Replacement
        assert passport.models.DeviceCode is Replacement
    finally:
        passport._model_overrides.pop("DeviceCode")


def test_device_consent_is_server_side_and_single_use_under_cookie_replay(
        app: Flask, client: Any, device_client: Any, user: Any, authz_login: Any) -> None:
    """Replaying the session cookie from before the answer finds no pending approval."""
    body = start(client, device_client.client.id).json
    authz_login(client, user)
    html = enter_code(client, body["user_code"]).get_data(as_text=True)
    cookie = client.get_cookie("session").value
    with client.session_transaction() as sess:
        assert "_passport_device" not in sess
    statuses = []
    for approve in (False, True, True):
        client.set_cookie("session", cookie)
        statuses.append(decide(client, html, approve=approve).status_code)
    assert statuses == [200, 400, 400]
    with app.app_context():
        models = app.extensions["passport"].models
        assert db.session.scalar(sa.select(sa.func.count())
                                 .select_from(models.PendingAuthorization)) == 0
        assert db.session.scalars(sa.select(models.DeviceCode.status)).one() == "denied"


def test_purge_removes_unanswered_consent_pages(app: Flask, client: Any, user: Any,
                                                authz_login: Any, authz_client: Any) -> None:
    from test_authorize import code_params, get_authorize

    authz_login(client, user)
    get_authorize(client, **code_params(authz_client, state="old"))
    get_authorize(client, **code_params(authz_client, state="live"))
    with app.app_context():
        Pending = app.extensions["passport"].models.PendingAuthorization
        old = next(row for row in db.session.scalars(sa.select(Pending))
                   if row.request["state"] == "old")
        old.expires_at = utcnow() - timedelta(days=30)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["passport", "purge", "--expired"])
    assert result.exit_code == 0, result.output
    assert "Purged 1 unanswered consent pages." in result.output
    with app.app_context():
        states = [row.request["state"] for row in db.session.scalars(sa.select(Pending))]
    assert states == ["live"]
