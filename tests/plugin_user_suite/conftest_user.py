from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from shop import Customer, create_app, db


@pytest.fixture
def app(tmp_path: Any) -> Iterator[Any]:
    keys = tmp_path / "no-keys-here"
    keys.mkdir()
    app = create_app({
        "SECRET_KEY": "test", "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.sqlite'}",
        "PASSPORT_KEY_PATH": str(keys),
    })
    with app.app_context():
        db.create_all()
    yield app
    assert os.listdir(keys) == []  # no key was ever needed or written
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def customer(app: Any) -> Customer:
    with app.app_context():
        c = Customer(email="ann@example.com")
        db.session.add(c)
        db.session.commit()
        db.session.refresh(c)
        db.session.expunge(c)
        return c
