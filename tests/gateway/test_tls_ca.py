"""The school CA (`schoolgate ca init` / `ca export`) and the leaf minter's cache.
Requirement ids: STM-079 (monitoring on the school's systems), STM-210 (users are told)."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from schoolgate.gateway.tls.ca import CaError, create_ca, load_ca, write_ca
from schoolgate.gateway.tls.mint import LeafMinter


def _schoolgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schoolgate", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_ca_init_writes_a_private_key_and_export_never_includes_it(tmp_path: Path):
    ca_dir = tmp_path / "ca"
    made = _schoolgate("ca", "init", "--dir", str(ca_dir), "--school", "Test Academy")
    assert made.returncode == 0, made.stderr
    assert "SHA-256 fingerprint" in made.stdout
    assert (ca_dir / "school-ca.key").stat().st_mode & 0o777 == 0o600
    again = _schoolgate("ca", "init", "--dir", str(ca_dir), "--school", "Test Academy")
    assert again.returncode == 1 and "already exists" in again.stderr
    pem = _schoolgate("ca", "export", "--dir", str(ca_dir))
    assert pem.returncode == 0 and pem.stdout.startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE KEY" not in pem.stdout
    der_path = tmp_path / "school-ca.cer"
    der = _schoolgate("ca", "export", "--dir", str(ca_dir), "--format", "der", "-o", str(der_path))
    assert der.returncode == 0, der.stderr
    certificate = x509.load_der_x509_certificate(der_path.read_bytes())
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert b"PRIVATE" not in der_path.read_bytes()


def test_a_key_others_can_read_is_refused(tmp_path: Path):
    write_ca(create_ca("Test Academy"), tmp_path)
    os.chmod(tmp_path / "school-ca.key", 0o644)
    with pytest.raises(CaError, match="chmod 600"):
        load_ca(tmp_path)


def test_missing_ca_says_how_to_make_one(tmp_path: Path):
    with pytest.raises(CaError, match="schoolgate ca init"):
        load_ca(tmp_path / "nowhere")


def test_leaves_verify_against_the_school_ca_and_the_cache_is_bounded(tmp_path: Path):
    ca = create_ca("Test Academy")
    minter = LeafMinter(ca, max_entries=3, max_contexts=2)
    first = minter.context_for("www.google.com")
    assert minter.context_for("WWW.Google.com.") is first  # cached under the normalised name
    minter.context_for("a.test")
    minter.context_for("b.test")  # the context for www.google.com is evicted, not its leaf
    assert minter.minted == 3
    assert minter.context_for("www.google.com") is not first
    assert minter.minted == 3  # a new context from the cached certificate: no new signature
    minter.context_for("c.test")
    minter.context_for("d.test")
    assert len(minter) == 3  # certificates: least recently used evicted
    minter.context_for("a.test")
    assert minter.minted == 6  # a.test was evicted and is signed again
    leaf = x509.load_pem_x509_certificate(minter.certificate_pem("a.test"))
    assert leaf.issuer == ca.name
    hours = (leaf.not_valid_after_utc - leaf.not_valid_before_utc).total_seconds() / 3600
    assert hours <= 25  # short-lived
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["a.test"]
    ca.key.public_key().verify(
        leaf.signature, leaf.tbs_certificate_bytes, _ecdsa(leaf.signature_hash_algorithm)
    )


def test_ip_address_leaves_name_the_address():
    leaf = x509.load_pem_x509_certificate(LeafMinter(create_ca("T")).certificate_pem("127.0.0.1"))
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_minted_contexts_offer_only_http_1_1():
    context = LeafMinter(create_ca("T")).context_for("x.test")
    assert isinstance(context, ssl.SSLContext)
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def _ecdsa(algorithm):
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.ECDSA(algorithm)


def test_proxy_without_its_ca_says_how_to_make_one(tmp_path: Path):
    started = subprocess.run(
        [
            sys.executable,
            "-m",
            "schoolgate",
            "proxy",
            "--policy",
            "policies/cavendish.yaml",
            "--tls-ca",
            str(tmp_path / "ca"),
            "--listen",
            "127.0.0.1:0",
            "--pages-listen",
            "127.0.0.1:0",
            "--state",
            str(tmp_path / "state"),
            "--journal",
            str(tmp_path / "journal"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert started.returncode == 1
    assert "school-ca.key: cannot read the school CA" in started.stderr
    assert "schoolgate ca init" in started.stderr
