"""docs/openapi.yaml describes every route Passport registers, and is a valid OpenAPI 3.1 document.

The Schemathesis run against the live example app is in ``tests/fuzz/test_schemathesis.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from conftest import make_app
from openapi_spec_validator import validate

SPEC = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"
METHODS = {"get", "post", "put", "patch", "delete"}


def load_spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def documented_operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in spec["paths"].items()
            for method in item if method in METHODS}


def registered_operations(config: dict[str, Any]) -> set[tuple[str, str]]:
    """(path, method) of every route of the passport blueprints, in OpenAPI path syntax."""
    app = make_app(config)
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(("passport.", "passport_well_known.")):
            continue
        if rule.endpoint == "passport.static":
            continue  # the web components' static files
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            found.add((path, method))
    return found


def test_openapi_document_is_valid_3_1() -> None:
    spec = load_spec()
    assert spec["openapi"].startswith("3.1")
    validate(spec)
    ids = [op["operationId"] for item in spec["paths"].values()
           for method, op in item.items() if method in METHODS]
    assert len(ids) == len(set(ids)), "operationIds must be unique"


def test_openapi_lists_every_route_of_the_blueprint(tmp_path: Path, private_key_pem: str
                                                      ) -> None:
    # Every optional route on: cookie auth has no extra routes, the implicit grant reuses
    # /authorize; the password grant changes no route either.
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'routes.sqlite'}",
              "PASSPORT_PRIVATE_KEY": private_key_pem, "PASSPORT_IMPLICIT_GRANT": True}
    registered = registered_operations(config)
    documented = documented_operations(load_spec())
    assert registered - documented == set(), "routes missing from docs/openapi.yaml"
    assert documented - registered == set(), "docs/openapi.yaml describes routes that do not exist"


def test_openapi_is_linked_from_the_docs() -> None:
    page = (SPEC.parent / "http-api.rst").read_text(encoding="utf-8")
    assert "openapi.yaml" in page
    assert "http-api" in (SPEC.parent / "index.rst").read_text(encoding="utf-8")
