"""The proxy's user directory (exported by the staff app) and Basic credentials."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from schoolgate.gateway.proxy.users import (
    Authenticator,
    UserDirectoryError,
    hash_password_pbkdf2,
    load_user_directory,
    parse_basic_credentials,
    verify_password,
)


def test_django_style_hashes_verify():
    pbkdf2 = hash_password_pbkdf2("correct horse", 1000)
    assert pbkdf2.startswith("pbkdf2_sha256$1000$")
    assert verify_password("correct horse", pbkdf2)
    assert not verify_password("wrong horse", pbkdf2)
    argon = "argon2" + PasswordHasher(time_cost=1, memory_cost=1024).hash("battery")
    assert verify_password("battery", argon)
    assert verify_password("battery", argon.removeprefix("argon2"))
    assert not verify_password("staple", argon)


def test_directory_loads_and_bad_entries_say_where(tmp_path: Path):
    good = tmp_path / "users.yaml"
    good.write_text(
        f"users:\n  amy: {{group: staff, password: '{hash_password_pbkdf2('x', 1)}'}}\n"
    )
    assert load_user_directory(good)["amy"].group == "staff"
    bad = tmp_path / "bad.yaml"
    bad.write_text("users:\n  bob: {group: staff, password: plaintext}\n")
    with pytest.raises(UserDirectoryError, match=r"bad.yaml: users.bob: password must be"):
        load_user_directory(bad)
    bad.write_text("users:\n  cat: {password: 'pbkdf2_sha256$1$a$b'}\n")
    with pytest.raises(UserDirectoryError, match=r"users.cat: needs `group`"):
        load_user_directory(bad)
    bad.write_text("- not a mapping\n")
    with pytest.raises(UserDirectoryError, match="expected a mapping `users:`"):
        load_user_directory(bad)


def test_basic_credentials_parsing():
    token = base64.b64encode(b"j.smith:pa:ss").decode()
    assert parse_basic_credentials(f"Basic {token}") == ("j.smith", "pa:ss")
    assert parse_basic_credentials("Bearer abc") is None
    assert parse_basic_credentials("Basic !!!") is None
    assert parse_basic_credentials(None) is None


def test_authenticator_remembers_only_correct_passwords(tmp_path: Path):
    path = tmp_path / "users.yaml"
    path.write_text(
        f"users:\n  amy: {{group: staff, password: '{hash_password_pbkdf2('x', 1)}'}}\n"
    )
    auth = Authenticator(load_user_directory(path))
    assert auth.cached("amy", "x") is None
    assert auth.check("amy", "y") is None
    assert auth.check("amy", "x").group == "staff"
    assert auth.cached("amy", "x") is not None
    assert auth.cached("amy", "y") is None
    assert auth.check("nobody", "x") is None
