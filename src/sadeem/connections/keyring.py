"""The keys that encrypt connection secrets at rest (Fernet, several keys for rotation).

Keys come from `SADEEM_SECRET_KEY` (comma-separated, newest first) or else from the key file
`$SADEEM_HOME/secret.key` (one key per line, newest first), which is generated with mode 0600 on
first start. The newest key encrypts; every key decrypts (MultiFernet), so a rotation can
re-encrypt old ciphertexts before the old key is dropped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from sadeem.config import Settings
from sadeem.core.errors import Unavailable

log = logging.getLogger("sadeem.connections")


class KeyringError(ValueError):
    """The configured keys are missing or malformed (never carries the key material)."""


def _parse_keys(lines: Sequence[str], origin: str) -> tuple[bytes, ...]:
    keys = tuple(line.strip().encode() for line in lines if line.strip())
    if not keys:
        raise KeyringError(f"{origin} holds no key.")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError as exc:
            raise KeyringError(
                f"Key {position} of {origin} is not a Fernet key (32 url-safe base64-encoded bytes)."
            ) from exc
    return keys


def _write_key_file(path: Path, keys: Sequence[bytes], *, exclusive: bool) -> None:
    """Write the file in one atomic step with mode 0600. `exclusive`: only if it does not exist
    yet (another process starting at the same moment wins, and its file is the one used)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(b"".join(key + b"\n" for key in keys))
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            with contextlib.suppress(FileExistsError):  # then the other process's file is used
                path.hardlink_to(staging)  # appears complete or not at all, never half-written
        else:
            staging.replace(path)
    finally:
        staging.unlink(missing_ok=True)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return (status.st_ino, status.st_mtime_ns, status.st_size)


class Keyring:
    """Encrypts with the newest key, decrypts with any. `key_file` is None when the keys come
    from SADEEM_SECRET_KEY (then only the operator changes them). In key-file mode a running
    Sadeem picks up a rotation made meanwhile by `sadeem secrets rotate-key` (the file changed)."""

    def __init__(self, keys: Sequence[bytes], key_file: Path | None = None) -> None:
        if not keys:
            raise KeyringError("A keyring needs at least one key.")
        self.key_file = key_file
        self._lock = threading.Lock()
        self._use(tuple(keys), _stamp(key_file) if key_file else None)

    def _use(self, keys: tuple[bytes, ...], stamp: tuple[int, int, int] | None) -> None:
        self.keys = keys
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self._file_stamp = stamp

    def _current(self) -> MultiFernet:
        if self.key_file is not None and (stamp := _stamp(self.key_file)) not in (None, self._file_stamp):
            with self._lock:
                self._use(_parse_keys(self.key_file.read_text().splitlines(), str(self.key_file)), stamp)
        return self._fernet

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        if settings.secret_key is not None:
            return cls(_parse_keys(settings.secret_key.get_secret_value().split(","), "SADEEM_SECRET_KEY"))
        return cls.from_file(settings.key_file)

    @classmethod
    def from_file(cls, path: Path) -> Keyring:
        if not path.exists():
            _write_key_file(path, [Fernet.generate_key()], exclusive=True)
            log.warning(
                "generated a new secret key file %s; back it up: without it, stored connection "
                "secrets cannot be decrypted",
                path,
            )
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("secret key file %s is accessible to other users (mode %o); chmod 600 it", path, mode)
        return cls(_parse_keys(path.read_text().splitlines(), str(path)), key_file=path)

    def encrypt(self, values: Mapping[str, str]) -> str:
        return self._current().encrypt(json.dumps(dict(values), sort_keys=True).encode()).decode()

    def decrypt(self, token: str) -> dict[str, str]:
        try:
            values: dict[str, str] = json.loads(self._current().decrypt(token.encode()))
        except InvalidToken as exc:
            raise Unavailable(
                "Stored secrets cannot be decrypted with the configured key(s); "
                "SADEEM_SECRET_KEY or the key file was changed without `sadeem secrets rotate-key`."
            ) from exc
        return values

    def rotate(self, token: str) -> str:
        """The same plaintext, encrypted with the newest key."""
        try:
            return self._current().rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise Unavailable("A stored ciphertext cannot be decrypted with any configured key.") from exc

    # --- key-file mode: rotation steps -------------------------------------------------------

    def _require_file(self) -> Path:
        if self.key_file is None:
            raise KeyringError("The keys come from SADEEM_SECRET_KEY; the operator changes them there.")
        return self.key_file

    def add_new_key(self) -> Keyring:
        """Write a new key in front of the existing ones; everything still decrypts."""
        path = self._require_file()
        self._current()  # the file's keys as they are now
        keys = (Fernet.generate_key(), *self.keys)
        _write_key_file(path, keys, exclusive=False)
        return Keyring(keys, key_file=path)

    def retire_old_keys(self) -> Keyring:
        """Keep only the newest key (call once every ciphertext is re-encrypted with it)."""
        path = self._require_file()
        _write_key_file(path, self.keys[:1], exclusive=False)
        return Keyring(self.keys[:1], key_file=path)
