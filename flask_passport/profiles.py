"""Security profiles: one setting (``PASSPORT_PROFILE``) that pins a set of other settings.

A profile is a table of :class:`Rule` rows, each naming one ``PASSPORT_*`` setting, the value
the profile gives it, and what an explicit value must satisfy. :func:`apply` runs inside
:meth:`Settings.load <flask_passport.settings.Settings.load>`: an unset key takes the profile's
value, a key the app set to something the profile forbids is an error at ``init_app`` (never
silently overridden), and a rule whose setting this version does not have makes the profile
refuse to start rather than pretend. The rest of the code reads the settings, not the profile.

* ``"oauth2.1"``: draft-ietf-oauth-v2-1 ("Differences from OAuth 2.0"): no implicit or password
  grant, PKCE with ``S256`` for every client using the authorization code grant.
* ``"fapi2"``: the FAPI 2.0 Security Profile (§5.3.2): everything in ``"oauth2.1"``, plus
  authorization codes of at most 60 seconds and the rules of :data:`FAPI2_PENDING` (PAR
  required, DPoP required, ``private_key_jwt`` only, no client ID metadata documents).

Kept free of the settings module (which imports this one): rules see parsed setting values.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

OAUTH21 = "oauth2.1"
FAPI2 = "fapi2"
PROFILES = (OAUTH21, FAPI2)

#: FAPI 2.0 Security Profile §5.3.2.2: "shall issue authorization codes with a maximum
#: lifetime of 60 seconds".
FAPI2_MAX_AUTH_CODE_LIFETIME = timedelta(seconds=60)


@dataclass(frozen=True)
class Rule:
    """One constraint of a profile on one setting."""

    #: The ``PASSPORT_*`` setting the rule pins.
    key: str
    #: The value the profile gives the setting when the app leaves it unset.
    value: Any
    #: Whether an explicit (parsed) value keeps the rule.
    accepts: Callable[[Any], bool]
    #: What the rule refuses, in a few words (error messages, docs, ``flask passport check``).
    refuses: str
    #: The specification section that asks for it.
    spec: str

    @property
    def field(self) -> str:
        """The :class:`~flask_passport.settings.Settings` attribute of :attr:`key`."""
        return self.key.removeprefix("PASSPORT_").lower()


def _off(value: Any) -> bool:
    return not value


def _on(value: Any) -> bool:
    return bool(value)


_V21 = "draft-ietf-oauth-v2-1"

OAUTH21_RULES: tuple[Rule, ...] = (
    Rule("PASSPORT_IMPLICIT_GRANT", False, _off,
         "the implicit grant (response_type=token)",
         f"{_V21}, Differences from OAuth 2.0; RFC 9700 §2.1.2"),
    Rule("PASSPORT_PASSWORD_GRANT", False, _off,
         "the resource owner password credentials grant",
         f"{_V21}, Differences from OAuth 2.0; RFC 9700 §2.4"),
    Rule("PASSPORT_PKCE_PLAIN", False, _off,
         "the plain PKCE method (S256 only)",
         f"{_V21} §4.1.1; RFC 9700 §2.1.1"),
    Rule("PASSPORT_PKCE_REQUIRED", "all", lambda value: value == "all",
         "authorization code requests without PKCE, from confidential clients too",
         f"{_V21} §4.1.1, Differences from OAuth 2.0"),
    # Refresh tokens always rotate; a reuse grace would let a public client's token be used
    # twice, and the draft asks for one-time use (or sender-constraining) for those.
    Rule("PASSPORT_REFRESH_TOKEN_REUSE_GRACE", 0, lambda value: value == 0,
         "a refresh token used twice (a reuse grace window; tokens rotate, one use each)",
         f"{_V21}, Differences from OAuth 2.0; RFC 9700 §4.14.2"),
)

#: FAPI 2.0 rules on the settings of PAR, DPoP, JWT client authentication and client ID
#: metadata documents. A rule whose setting is not in the settings table (a build without that
#: feature) makes ``PASSPORT_PROFILE = "fapi2"`` refuse to start ("it requires ...").
FAPI2_PENDING: tuple[Rule, ...] = (
    Rule("PASSPORT_REQUIRE_PAR", True, _on,
         "authorization requests not pushed first (PAR, RFC 9126)",
         "FAPI 2.0 Security Profile §5.3.2.2; RFC 9126 §5"),
    Rule("PASSPORT_DPOP", True, _on,
         "turning DPoP off (the only sender-constraining offered here)",
         "FAPI 2.0 Security Profile §5.3.2.1; RFC 9449"),
    Rule("PASSPORT_DPOP_REQUIRED", True, _on,
         "access tokens that are not sender-constrained (DPoP, RFC 9449)",
         "FAPI 2.0 Security Profile §5.3.2.1; RFC 9449 §5"),
    Rule("PASSPORT_CLIENT_AUTH_METHODS", ("private_key_jwt",),
         lambda value: bool(value) and set(value) <= {"private_key_jwt"},
         "client authentication other than private_key_jwt (client secrets, public clients)",
         "FAPI 2.0 Security Profile §5.3.2.1; RFC 7523 §2.2"),
    # A URL client_id names a public client (OAuth Client ID Metadata Documents).
    Rule("PASSPORT_CLIENT_ID_METADATA_DOCUMENTS", False, _off,
         "client ID metadata documents (they describe public clients)",
         "FAPI 2.0 Security Profile §5.3.2.1 (confidential clients only)"),
)

FAPI2_RULES: tuple[Rule, ...] = (
    *OAUTH21_RULES,
    Rule("PASSPORT_AUTH_CODE_LIFETIME", FAPI2_MAX_AUTH_CODE_LIFETIME,
         lambda value: value <= FAPI2_MAX_AUTH_CODE_LIFETIME,
         "authorization codes living longer than 60 seconds",
         "FAPI 2.0 Security Profile §5.3.2.2"),
    *FAPI2_PENDING,
)

RULES: Mapping[str, tuple[Rule, ...]] = {OAUTH21: OAUTH21_RULES, FAPI2: FAPI2_RULES}


@dataclass(frozen=True)
class ClientRules:
    """What a profile asks of registered clients (``flask passport check`` lists the clients
    in the database that break it; the settings above make the endpoints refuse them)."""

    #: Grant types no client may use: both are omitted from OAuth 2.1.
    refused_grants: frozenset[str]
    #: FAPI 2.0 Security Profile §5.3.2.1: confidential clients only ...
    confidential_only: bool = False
    #: ... authenticating with private_key_jwt (or mTLS, not offered here), never a secret.
    private_key_jwt_only: bool = False


_OMITTED_GRANTS = frozenset({"password", "implicit"})

CLIENT_RULES: Mapping[str, ClientRules] = {
    OAUTH21: ClientRules(_OMITTED_GRANTS),
    FAPI2: ClientRules(_OMITTED_GRANTS, confidential_only=True, private_key_jwt_only=True),
}


class ProfileError(ValueError):
    """The configuration contradicts ``PASSPORT_PROFILE`` (raised at ``init_app``)."""


def parse(value: Any) -> str | None:
    """``PASSPORT_PROFILE``: ``None`` (no profile), ``"oauth2.1"`` or ``"fapi2"``."""
    if value in (None, ""):
        return None
    if value not in PROFILES:
        raise ProfileError(f"PASSPORT_PROFILE must be None, 'oauth2.1' or 'fapi2', not {value!r}.")
    return str(value)


def _show(value: Any) -> str:
    if isinstance(value, timedelta):
        return f"{value.total_seconds():g} seconds"
    return repr(value)


def rules(profile: str | None) -> tuple[Rule, ...]:
    return RULES[profile] if profile else ()


def set_defaults(profile: str | None, values: dict[str, Any], explicit: Collection[str]) -> None:
    """Give every setting the profile pins and the app left unset the profile's value
    (before parsing, so the usual parsing applies to both)."""
    for rule in rules(profile):
        if rule.key not in explicit and rule.field in values:
            values[rule.field] = rule.value


def check(profile: str | None, values: Mapping[str, Any], explicit: Collection[str]) -> None:
    """Raise :class:`ProfileError` for a setting the profile needs but this version lacks, or
    an explicit setting that contradicts the profile (each named, with what to do)."""
    problems: list[str] = []
    for rule in rules(profile):
        if rule.field not in values:
            problems.append(f"it requires {rule.key} (to refuse {rule.refuses}; {rule.spec}), "
                            "which this version of flask-passport does not have")
        elif not rule.accepts(values[rule.field]):
            where = "set explicitly" if rule.key in explicit else "set"
            problems.append(f"{rule.key} is {where} to {_show(values[rule.field])}, but the "
                            f"profile refuses {rule.refuses} ({rule.spec}); remove the "
                            f"setting or set it to {_show(rule.value)}")
    if problems:
        raise ProfileError(f"PASSPORT_PROFILE = {profile!r}: " + "; ".join(problems) + ".")
