"""The proxy's user directory: who may authenticate with `Proxy-Authorization`, and their group.

A small YAML file in the site configuration, written by the staff application (the Django app
exports it whenever accounts change) or by hand:

    users:
      j.smith: {group: staff, password: "pbkdf2_sha256$600000$salt$base64hash"}
      y6.pupil: {group: pupil-ks2, password: "argon2$argon2id$v=19$m=65536,t=3,p=4$..."}

Password hashes use Django's formats (`pbkdf2_sha256$...`, `argon2$argon2id$...`; a bare
`$argon2id$...` is accepted too) so the app can copy them across unchanged. Verifying a hash is
slow on purpose, so successful checks are remembered for a while, keyed by a digest of the
credentials (never the password itself).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

VERIFIED_SECONDS = 300.0


class UserDirectoryError(ValueError):
    """The user directory file is malformed; the message says where."""


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    name: str
    group: str
    password_hash: str


def load_user_directory(path: Path) -> dict[str, DirectoryUser]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UserDirectoryError(f"{path}: cannot read user directory: {exc}") from None
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict):
        raise UserDirectoryError(f"{path}: expected a mapping `users:` of name -> entry")
    directory: dict[str, DirectoryUser] = {}
    for name, entry in users.items():
        where = f"{path}: users.{name}"
        if not isinstance(entry, dict) or not entry.get("group") or not entry.get("password"):
            raise UserDirectoryError(f"{where}: needs `group` and `password` (a hash)")
        password_hash = str(entry["password"])
        if not password_hash.startswith(("pbkdf2_sha256$", "argon2$", "$argon2")):
            raise UserDirectoryError(f"{where}: password must be a pbkdf2_sha256 or argon2 hash")
        directory[str(name)] = DirectoryUser(str(name), str(entry["group"]), password_hash)
    return directory


def hash_password_pbkdf2(password: str, iterations: int = 600_000) -> str:
    """A Django-compatible `pbkdf2_sha256` hash, for tests and for writing the file by hand."""
    salt = base64.b64encode(os.urandom(12)).decode("ascii").rstrip("=")
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode('ascii')}"


def verify_password(password: str, encoded: str) -> bool:
    if encoded.startswith("pbkdf2_sha256$"):
        return _verify_pbkdf2(password, encoded)
    if encoded.startswith("argon2$"):
        encoded = encoded[len("argon2") :]
    return _verify_argon2(password, encoded)


def _verify_pbkdf2(password: str, encoded: str) -> bool:
    try:
        _, iterations, salt, expected = encoded.split("$", 3)
        rounds = int(iterations)
    except ValueError:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), rounds)
    return hmac.compare_digest(base64.b64encode(digest).decode("ascii"), expected)


def _verify_argon2(password: str, encoded: str) -> bool:
    try:
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError
    except ImportError as exc:  # pragma: no cover - argon2-cffi ships with the app extra
        raise UserDirectoryError("argon2 hashes need the argon2-cffi package") from exc
    try:
        return PasswordHasher().verify(encoded, password)
    except (VerificationError, InvalidHashError):
        return False


def parse_basic_credentials(header: str | None) -> tuple[str, str] | None:
    """`Basic base64(user:password)` -> (user, password); None if absent or malformed."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep and user else None


class Authenticator:
    """Checks credentials against the directory, remembering recent successes."""

    def __init__(self, directory: dict[str, DirectoryUser]) -> None:
        self.directory = directory
        self._verified: dict[bytes, float] = {}

    def cached(self, user: str, password: str) -> DirectoryUser | None:
        entry = self.directory.get(user)
        if entry is None:
            return None
        until = self._verified.get(self._key(entry, password))
        return entry if until and until > time.monotonic() else None

    def check(self, user: str, password: str) -> DirectoryUser | None:
        """Slow path (hash verification): call it off the event loop."""
        entry = self.directory.get(user)
        if entry is None or not verify_password(password, entry.password_hash):
            return None
        if len(self._verified) > 10_000:
            self._verified.clear()
        self._verified[self._key(entry, password)] = time.monotonic() + VERIFIED_SECONDS
        return entry

    @staticmethod
    def _key(entry: DirectoryUser, password: str) -> bytes:
        material = f"{entry.name}\0{password}\0{entry.password_hash}".encode()
        return hashlib.sha256(material).digest()
