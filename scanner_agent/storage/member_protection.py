"""Member numbers at rest: how a number becomes what is stored, and back when that is possible.

    key = read_or_create_secret(settings.path(settings.storage.key_file))   # 0600, made once
    protector = MemberProtector("encrypted", key)
    stored, how = protector.protect("12345678", scan_id)     # ("…", "aes-gcm")
    protector.reveal(stored, how, scan_id)                   # "12345678"

The configured mode (`storage.member_number`) is one of:

- `plain`: the number as it is;
- `hashed`: a keyed HMAC-SHA256 (equal numbers can be matched, never read back);
- `encrypted`: AES-256-GCM under a key derived (HKDF-SHA256) from the key file, stored as
  base64 of the 12-byte nonce and the sealed number, with the scan id as associated data (a
  number moved to another row does not decrypt). Rows written before by Fernet (label
  `encrypted`) stay readable with the same key file.

Each row records how its number was protected (`plain`, `hashed`, `encrypted` for Fernet,
`aes-gcm`), so that a change of mode never makes older rows unreadable.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import stat
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from scanner_agent.errors import ConfigError

log = logging.getLogger(__name__)

Protection = Literal["plain", "hashed", "encrypted"]
"""The configured mode."""
AES_GCM = "aes-gcm"
"""The label of rows encrypted with AES-GCM (`encrypted` labels Fernet rows)."""
_HKDF_INFO = b"scanner-agent member number aes-gcm v1"
_NONCE_BYTES = 12


def read_or_create_secret(path: Path) -> bytes:
    """A Fernet key kept in `path` (mode 0600), created on first use."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        tighten_mode(path)
        key = path.read_bytes().strip()
    else:
        key = Fernet.generate_key()
        with os.fdopen(fd, "wb") as fh:
            fh.write(key + b"\n")
        log.info("created the storage key %s (mode 0600)", path)
    try:
        Fernet(key)
    except ValueError:
        raise ConfigError(
            f"{path}: not a storage key (expected 32 url-safe base64 bytes)"
        ) from None
    return key


def tighten_mode(path: Path) -> None:
    """Secrets are for this user only: fix a file others could read, and say so."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o): set to 0600", path, mode)
        path.chmod(0o600)


class MemberProtector:
    """Turns a member number into what is stored, and back when that is possible."""

    def __init__(self, mode: Protection, key: bytes | None = None) -> None:
        if mode != "plain" and key is None:
            raise ValueError(f"member_number = {mode!r} needs a key")
        self.mode = mode
        self._fernet = Fernet(key) if key else None
        self._aead = AESGCM(_derive(key)) if key else None
        self._hmac_key = (
            hashlib.sha256(b"scanner-agent member hash\0" + key).digest() if key else b""
        )

    def protect(self, number: str | None, scan_id: str) -> tuple[str | None, str]:
        """What to store for `number` in the row of `scan_id`, and how it was protected."""
        if number is None or self.mode == "plain":
            return number, self._label()
        if self.mode == "hashed":
            return self.digest(number), "hashed"
        assert self._aead is not None
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, number.encode(), scan_id.encode())
        return base64.b64encode(nonce + sealed).decode("ascii"), AES_GCM

    def _label(self) -> str:
        return AES_GCM if self.mode == "encrypted" else self.mode

    def digest(self, number: str) -> str:
        mac = hmac.new(self._hmac_key, number.encode(), hashlib.sha256).digest()
        return "hmac-sha256:" + base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")

    def reveal(self, stored: str | None, how: str, scan_id: str) -> str | None:
        """The member number of a row protected `how`, or None when it cannot be read."""
        if stored is None or how == "hashed":
            return None
        if how == "plain":
            return stored
        if how == AES_GCM:
            if self._aead is None:
                return None
            try:
                blob = binascii.a2b_base64(stored)
                plain = self._aead.decrypt(
                    blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], scan_id.encode()
                )
            except (InvalidTag, ValueError, binascii.Error):
                return None
            return plain.decode()
        if self._fernet is None:
            return None
        try:
            return self._fernet.decrypt(stored.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            return None


def _derive(key: bytes) -> bytes:
    """The AES-256 key of member numbers, derived from the key file's Fernet key."""
    hkdf = HKDF(algorithm=SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return hkdf.derive(base64.urlsafe_b64decode(key))


__all__ = [
    "AES_GCM",
    "MemberProtector",
    "Protection",
    "read_or_create_secret",
    "tighten_mode",
]
