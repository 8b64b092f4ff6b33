"""Signals on every token path this issue owns: created, refresh created, revoked (API revoke,
refresh rotation, refresh reuse, client deletion). Signals are sent only after the commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from flask import Flask

from flask_passport import signals

WATCHED = ("access_token_created", "refresh_token_created", "access_token_revoked",
           "refresh_token_revoked", "refresh_token_reused")


@contextmanager
def recording() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    with ExitStack() as stack:
        for name in WATCHED:
            def receiver(sender: Any, _name: str = name, **kw: Any) -> None:
                if "token" in kw:  # a row: read it while the request's session is alive
                    kw["token_id"] = kw.pop("token").id
                events.append((_name, kw))
            stack.enter_context(getattr(signals, name).connected_to(receiver))
        yield events


def _password_grant(client: Any, pwc: Any, user: Any) -> dict[str, Any]:
    return dict(client.post("/oauth/token", data={
        "grant_type": "password", "client_id": pwc.client.id, "client_secret": pwc.secret,
        "username": user.email, "password": "secret-password"}).json)


def _refresh(client: Any, pwc: Any, refresh_token: str) -> Any:
    return client.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": pwc.client.id, "client_secret": pwc.secret})


def test_issue_rotate_and_reuse_events(app: Flask, client: Any, user: Any,
                                       password_client: Any) -> None:
    with recording() as events:
        first = _password_grant(client, password_client, user)
    assert [e[0] for e in events] == ["access_token_created", "refresh_token_created"]
    assert events[0][1]["grant_type"] == "password" and events[0][1]["user_id"] == str(user.id)
    first_access = events[0][1]["token_id"]
    first_refresh = events[1][1]["refresh_token_id"]
    assert first["refresh_token"].startswith(first_refresh + ".")

    with recording() as events:
        second = _refresh(client, password_client, first["refresh_token"]).json
    names = [e[0] for e in events]
    assert ("refresh_token_revoked", {"refresh_token_id": first_refresh, "reason": "rotated"}
            ) in events
    assert ("access_token_revoked", {"token_id": first_access, "reason": "rotated"}) in events
    assert names.count("access_token_created") == 1 and names.count("refresh_token_created") == 1
    second_refresh = second["refresh_token"].split(".")[0]

    # Replaying the rotated token revokes the family, with events for each revoked row.
    with recording() as events:
        resp = _refresh(client, password_client, first["refresh_token"])
    assert resp.status_code == 400
    assert ("refresh_token_revoked", {"refresh_token_id": second_refresh,
                                      "reason": "reuse_detected"}) in events
    assert any(n == "access_token_revoked" and kw["reason"] == "reuse_detected"
               for n, kw in events)
    assert any(n == "refresh_token_reused" for n, _ in events)


def test_failed_request_sends_no_event(app: Flask, client: Any, user: Any,
                                       password_client: Any) -> None:
    with recording() as events:
        resp = client.post("/oauth/token", data={
            "grant_type": "password", "client_id": password_client.client.id,
            "client_secret": password_client.secret, "username": user.email,
            "password": "wrong"})
    assert resp.status_code == 400
    assert events == []
