"""Signing-key rotation: a new current key pair while the old public keys keep verifying.

Layout in the key path (the instance folder by default)::

    oauth-private.key, oauth-public.key      the current pair (unchanged; env keys still work)
    passport-keys/retired-<kid>.pub          public keys of retired pairs (verify only)
    passport-keys/manifest.json              {"<kid>": {"retired_at": "<ISO 8601 UTC>"}}

``rotate_keys`` retires the current pair and writes a new one; ``prune_keys`` drops retired keys
once every token they can have signed has expired (``retired_at`` + the longest access-token
lifetime), or all of them with ``force=True``. Running processes load keys once: restart them
(or roll them) after a rotation so they sign with the new key.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..storage.models import utcnow
from . import keys as keys_mod
from .keys import KeyLoadError, KeySet, SigningKey

RETIRED_DIR = "passport-keys"
MANIFEST = "manifest.json"


def retired_dir(key_path: str | os.PathLike[str]) -> Path:
    return Path(key_path) / RETIRED_DIR


def _read_manifest(directory: Path) -> dict[str, dict[str, Any]]:
    path = directory / MANIFEST
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise KeyLoadError(f"{path} is unreadable; fix or delete it.") from exc
    return data if isinstance(data, dict) else {}


def _write_manifest(directory: Path, manifest: dict[str, dict[str, Any]]) -> None:
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True), "utf-8")
    # Not writable by others whatever the umask: the manifest decides when keys are pruned.
    tmp.chmod(0o644)
    tmp.replace(directory / MANIFEST)


def load_retired_keys(key_path: str | os.PathLike[str] | None,
                      pem_texts: tuple[str, ...] = ()) -> list[SigningKey]:
    """Retired public keys: files in ``passport-keys/`` plus PEM texts from configuration."""
    found: list[SigningKey] = []
    for text in pem_texts:
        found.append(SigningKey.from_keys(
            keys_mod.load_public_key(text.replace("\\n", "\n").strip().encode() + b"\n")))
    if key_path is not None:
        directory = retired_dir(key_path)
        if directory.is_dir():
            for path in sorted(directory.glob("retired-*.pub")):
                try:
                    found.append(SigningKey.from_keys(keys_mod.load_public_key(path.read_bytes())))
                except OSError as exc:
                    raise KeyLoadError(f"{path} cannot be read ({exc.strerror}).") from exc
    return found


def add_retired_keys(keyset: KeySet, settings: Any) -> KeySet:
    """Add the retired public keys to ``keyset.verifying`` (the current key stays first)."""
    for key in load_retired_keys(settings.key_path, settings.retired_public_keys):
        keyset.verifying.setdefault(key.kid, key)
    return keyset


def rotate_keys(key_path: str | os.PathLike[str], *, kind: str | None = None,
                bits: int = keys_mod.DEFAULT_RSA_BITS, now: datetime | None = None
                ) -> tuple[str, str]:
    """Retire the current pair and write a new one; returns ``(old_kid, new_kid)``.

    The new key has the type of the old one unless ``kind`` (RSA, ES256, EdDSA) is given. The
    old public key is saved before the new pair replaces the files, so no window exists in
    which tokens signed by the old key stop verifying.
    """
    directory = Path(key_path)
    public_file = directory / keys_mod.PUBLIC_KEY_FILE
    if not public_file.exists():
        raise KeyLoadError(
            f"No key pair in {directory} to rotate. Keys from PASSPORT_PRIVATE_KEY are rotated "
            "by setting the new key there and the old public key in PASSPORT_RETIRED_PUBLIC_KEYS;"
            " otherwise run `flask passport keys` first."
        )
    old = SigningKey.from_keys(keys_mod.load_public_key(public_file.read_bytes()))
    if kind is None:
        kind = {"RS256": "RSA", "ES256": "ES256", "EdDSA": "EdDSA"}.get(old.algorithm, "RSA")
    new_private = keys_mod.generate_private_key(kind, bits)
    retired = retired_dir(directory)
    retired.mkdir(mode=0o755, parents=True, exist_ok=True)
    pub_path = retired / f"retired-{old.kid}.pub"
    pub_path.write_bytes(keys_mod.public_pem(old.public_key))
    pub_path.chmod(0o644)
    manifest = _read_manifest(retired)
    manifest[old.kid] = {"retired_at": (now or utcnow()).isoformat(),
                         "algorithm": old.algorithm}
    _write_manifest(retired, manifest)
    keys_mod.write_key_pair(directory, new_private, force=True)
    return old.kid, SigningKey.from_keys(new_private.public_key()).kid


def prune_keys(key_path: str | os.PathLike[str], *, keep_for: timedelta, force: bool = False,
               now: datetime | None = None) -> list[str]:
    """Delete retired keys retired more than ``keep_for`` ago (all of them with ``force``)."""
    retired = retired_dir(key_path)
    if not retired.is_dir():
        return []
    manifest = _read_manifest(retired)
    now = now or utcnow()
    dropped: list[str] = []
    for path in sorted(retired.glob("retired-*.pub")):
        kid = path.name[len("retired-"):-len(".pub")]
        entry = manifest.get(kid, {})
        try:
            retired_at = datetime.fromisoformat(entry["retired_at"])
        except (KeyError, TypeError, ValueError):
            retired_at = datetime.fromtimestamp(path.stat().st_mtime, now.tzinfo)
        if force or retired_at + keep_for <= now:
            path.unlink()
            manifest.pop(kid, None)
            dropped.append(kid)
    _write_manifest(retired, manifest)
    return dropped


def longest_token_lifetime(settings: Any, client_lifetimes: list[int] | None = None) -> timedelta:
    """How long a signed access token can live: the longest configured or per-client lifetime."""
    candidates: list[timedelta] = [
        settings.access_token_lifetime,
        settings.personal_access_token_lifetime,
        settings.client_credentials_token_lifetime,
    ]
    candidates += [timedelta(seconds=s) for s in client_lifetimes or () if s]
    return max(candidates) + timedelta(seconds=settings.leeway)
