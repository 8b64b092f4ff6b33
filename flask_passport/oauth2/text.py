"""Which request text may meet the database: no control characters, no lone surrogates.

RFC 6749 Appendix A draws every protocol parameter from printable characters: ``client_id``,
``client_secret``, codes and tokens are ``VSCHAR`` (%x20-7E), scopes ``NQCHAR``, and even the
password grant's ``username`` and ``password`` are ``UNICODECHARNOCRLF`` (TAB is the only
control character allowed). No database text column stores a NUL (PostgreSQL refuses it) or a
lone surrogate (SQLite cannot encode one), so such input is refused as invalid at the boundary
instead of failing in the database.
"""

from __future__ import annotations

import unicodedata

#: Parameters whose grammar admits TAB (RFC 6749 Appendix A.15, A.16).
TAB_ALLOWED = frozenset({"username", "password"})


def is_plain_text(value: str, *, allow_tab: bool = False) -> bool:
    """Whether ``value`` has no control character (NUL included) and no lone surrogate."""
    if value.isprintable():  # the common case, in C: no Cc, Cs (nor other unprintables)
        return True
    return not any(unicodedata.category(ch) in ("Cc", "Cs")
                   and not (allow_tab and ch == "\t") for ch in value)


#: Unicode bidirectional formatting characters (UAX #9 §2: the embeddings and overrides
#: U+202A-U+202E, the isolates U+2066-U+2069, and the marks LRM, RLM, ALM). In a name shown to
#: a user they can reorder the text around it (the "Trojan Source" trick, CVE-2021-42574):
#: a consent page could be made to show another application's name or domain.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                          "\u200e\u200f\u061c")


def is_display_name(value: str) -> bool:
    """:func:`is_plain_text` and no bidirectional control: a client name users read."""
    return is_plain_text(value) and BIDI_CONTROLS.isdisjoint(value)


def is_plain_param(name: str, value: str) -> bool:
    """:func:`is_plain_text` with the RFC 6749 grammar of parameter ``name``."""
    return is_plain_text(value, allow_tab=name in TAB_ALLOWED)
