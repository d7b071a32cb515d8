"""The school's own certificate authority, for optional HTTPS inspection (docs/https-limits.md).

`schoolgate ca init` makes it once per school: an ECDSA P-256 root valid for ten years, that
may sign only end-entity certificates (path length 0). The key is written with mode 0600 and
never leaves the gateway: `ca export` writes the certificate only (PEM or DER), for installing
on the school's managed devices. Loading refuses a key file that others can read.

Requirement ids: STM-079 (technical staff monitor activity on the school's systems) and
STM-210 / CAV-027 / HG-084 (users are told that their use is monitored).
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_FILE = "school-ca.pem"
KEY_FILE = "school-ca.key"
CA_YEARS = 10


class CaError(RuntimeError):
    """The CA is missing, unreadable or unsafe; the message says which file and why."""


@dataclass(frozen=True)
class SchoolCa:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def name(self) -> x509.Name:
        return self.certificate.subject

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    def fingerprint(self) -> str:
        """SHA-256 fingerprint as installers show it (`AB:CD:…`)."""
        return ":".join(f"{b:02X}" for b in self.certificate.fingerprint(hashes.SHA256()))


def create_ca(school_name: str, now: dt.datetime | None = None) -> SchoolCa:
    now = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{school_name[:40]} Schoolgate CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, school_name[:64]),
        ]
    )
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return SchoolCa(certificate, key)


def write_ca(ca: SchoolCa, directory: Path) -> tuple[Path, Path]:
    """Write `school-ca.pem` and `school-ca.key` (0600); refuse to overwrite an existing CA."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
    for path in (cert_path, key_path):
        if path.exists():
            raise CaError(f"{path}: a school CA already exists here; it was not replaced")
    key_bytes = ca.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_bytes)
    cert_path.write_bytes(ca.certificate_pem())
    return cert_path, key_path


def load_ca(directory: Path) -> SchoolCa:
    cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
    try:
        mode = key_path.stat().st_mode
        cert_bytes = cert_path.read_bytes()
        key_bytes = key_path.read_bytes()
    except OSError as exc:
        raise CaError(
            f"{exc.filename}: cannot read the school CA ({exc.strerror}); "
            "create it with `schoolgate ca init`"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CaError(f"{key_path}: the CA key must be readable by its owner only (chmod 600)")
    try:
        certificate = x509.load_pem_x509_certificate(cert_bytes)
        key = serialization.load_pem_private_key(key_bytes, password=None)
    except ValueError as exc:
        raise CaError(f"{directory}: the school CA files are damaged: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CaError(f"{key_path}: not an ECDSA key")
    if key.public_key().public_numbers() != certificate.public_key().public_numbers():
        raise CaError(f"{directory}: {KEY_FILE} is not the key of {CERT_FILE}")
    return SchoolCa(certificate, key)
