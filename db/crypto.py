"""Encryption of sensitive column values at rest: AES-256-GCM, one key per version.

A stored value is

    version (1 byte) || nonce (12 random bytes) || ciphertext || tag (16 bytes)

`version` names the key it was written with, so keys can be rotated: new values are written
with the current key, older ones stay readable while their key is in the keyring (see
server/config.py: DATA_ENCRYPTION_KEY, DATA_ENCRYPTION_KEY_VERSION, DATA_ENCRYPTION_OLD_KEYS).
The associated data binds a value to its place (table, column, dealership and row), so a
ciphertext copied into another row or column does not decrypt.

Nothing here logs, and no error carries a plaintext.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
MIN_VERSION, MAX_VERSION = 1, 255


class DecryptionFailed(Exception):
    """A stored value cannot be decrypted: the key of its version is missing or wrong, or
    the ciphertext was altered or moved from another row or column. An internal error: the
    client is told only that something went wrong."""


def parse_key(encoded: str) -> bytes:
    """A key as configured: base64 (standard or URL-safe, padding optional) of 32 bytes.
    The error never repeats the value."""
    text = encoded.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        key = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be base64 (e.g. the output of `openssl rand -base64 32`)") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"must decode to exactly {KEY_BYTES} bytes, not {len(key)}")
    return key


def new_key() -> str:
    """A fresh random key, base64-encoded as configuration wants it."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


@dataclass(frozen=True)
class Keyring:
    """The keys by version, and the version new values are written with."""

    current: int
    keys: Mapping[int, bytes]

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError("the current key version has no key")
        for version, key in self.keys.items():
            if not MIN_VERSION <= version <= MAX_VERSION:
                raise ValueError(f"key versions are {MIN_VERSION}..{MAX_VERSION}")
            if len(key) != KEY_BYTES:
                raise ValueError(f"keys are {KEY_BYTES} bytes")


def place(table: str, column: str, *, dealership_id: int, row_id: int) -> str:
    """The associated data of a value: where it belongs."""
    return f"dealerdesk/{table}.{column}/dealership={dealership_id}/id={row_id}"


class FieldCipher:
    def __init__(self, keyring: Keyring) -> None:
        self._current = keyring.current
        self._aead = {version: AESGCM(key) for version, key in keyring.keys.items()}

    def encrypt(self, plaintext: str, *, where: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead[self._current].encrypt(
            nonce, plaintext.encode("utf-8"), where.encode("utf-8")
        )
        return bytes([self._current]) + nonce + sealed

    def decrypt(self, stored: bytes, *, where: str) -> str:
        if len(stored) < 1 + NONCE_BYTES + TAG_BYTES:
            raise DecryptionFailed(f"cannot decrypt {where}: the stored value is truncated")
        version = stored[0]
        aead = self._aead.get(version)
        if aead is None:
            raise DecryptionFailed(
                f"cannot decrypt {where}: it was written with key version {version}, which is "
                "not configured (DATA_ENCRYPTION_KEY / DATA_ENCRYPTION_OLD_KEYS)"
            )
        nonce, sealed = stored[1 : 1 + NONCE_BYTES], stored[1 + NONCE_BYTES :]
        try:
            clear = aead.decrypt(nonce, sealed, where.encode("utf-8"))
        except InvalidTag:
            raise DecryptionFailed(
                f"cannot decrypt {where} with key version {version}: the key is wrong, or "
                "the stored value was altered or moved from another row or column"
            ) from None
        return clear.decode("utf-8")

    @property
    def current_version(self) -> int:
        return self._current
