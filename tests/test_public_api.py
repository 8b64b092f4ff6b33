"""The public API: ``flask_passport`` exports exactly what docs/api.rst documents, and
``Passport``'s public members are exactly the documented set."""

from __future__ import annotations

import inspect
import re
import types
from pathlib import Path

import flask_passport
from flask_passport import Passport

ROOT = Path(__file__).resolve().parents[1]
API_PAGE = (ROOT / "docs" / "api.rst").read_text(encoding="utf-8")
#: A documenting directive and its target (``.. autoclass:: flask_passport.Passport``).
DIRECTIVE = re.compile(r"^\s*\.\. (?:auto)?(?:class|function|exception|data|module|attribute"
                       r"|method|decorator)::\s+(\S+)", re.MULTILINE)

#: Passport's public members: the snake_case of Laravel Passport's static methods, the hooks,
#: the models and the testing helpers. Everything else on the object is internal.
PASSPORT_PUBLIC = {
    # binding
    "init_app", "revoke_user_tokens",
    # settings as methods
    "tokens_expire_in", "refresh_tokens_expire_in", "personal_access_tokens_expire_in",
    "client_credentials_tokens_expire_in", "auth_codes_expire_in", "device_codes_expire_in",
    "enable_password_grant", "enable_implicit_grant", "load_keys_from",
    "personal_access_client_id", "cookie", "protected_resource",
    # scopes
    "tokens_can", "set_default_scope", "scope_ids", "scopes", "scopes_for", "has_scope",
    # resources (RFC 8707)
    "add_resource", "resources",
    # models
    "models", "use_client_model", "use_token_model", "use_refresh_token_model",
    "use_auth_code_model", "use_device_code_model",
    # hooks
    "find_user", "password_validator", "token_claims", "oidc_claims", "user_claims",
    "registration_policy",
    # configuration changed after init_app
    "reload_settings",
    # the SPA cookie and tests
    "create_fresh_api_token", "acting_as", "acting_as_client",
}


def _targets() -> list[str]:
    return DIRECTIVE.findall(API_PAGE)


def test_the_api_page_documents_exactly_what_the_package_exports() -> None:
    targets = _targets()
    assert "flask_passport.Passport" in targets
    outside = [t for t in targets if not t.startswith("flask_passport.")]
    assert not outside, f"api.rst documents names outside flask_passport: {outside}"
    documented = {t.split(".")[1] for t in targets}
    exported = set(flask_passport.__all__)
    assert documented - exported == set(), "documented in api.rst but not exported"
    assert exported - documented == set(), "exported but not documented in api.rst"


def test_every_documented_target_resolves() -> None:
    for target in _targets():
        obj: object = flask_passport
        for part in target.split(".")[1:]:
            assert hasattr(obj, part), target
            obj = getattr(obj, part)


def test_all_names_every_public_name_of_the_package() -> None:
    """No public name escapes ``__all__``: the package's other attributes are its submodules
    (imported as a side effect) or private."""
    exported = flask_passport.__all__
    assert len(exported) == len(set(exported))
    for name in exported:
        assert hasattr(flask_passport, name), name
    stray = sorted(
        name for name, value in vars(flask_passport).items()
        if not name.startswith("_") and name not in exported
        and not isinstance(value, types.ModuleType)
    )
    assert not stray, f"public names missing from __all__: {stray}"


def test_passport_public_members_are_the_documented_set() -> None:
    members = {name for name, _ in inspect.getmembers(Passport) if not name.startswith("_")}
    assert members == PASSPORT_PUBLIC
    instance_attributes = [name for name in vars(Passport()) if not name.startswith("_")]
    assert not instance_attributes, f"public instance attributes: {instance_attributes}"
    # api.rst documents every member (autodoc with :undoc-members:); the configuration page
    # names each one.
    assert re.search(r"autoclass:: flask_passport\.Passport\n   :members:\n   :undoc-members:",
                     API_PAGE)
    configuration = (ROOT / "docs" / "configuration.rst").read_text(encoding="utf-8")
    missing = sorted(n for n in PASSPORT_PUBLIC if f"Passport.{n}" not in configuration)
    assert not missing, f"docs/configuration.rst does not name: {missing}"
