"""A self-signed certificate for the lab's servers.

snapmigrate connects to ``*.rds.amazonaws.com`` hosts with ``sslmode=require``
by default, as it must with AWS; the lab's endpoints therefore speak TLS (see
:mod:`snapmigrate_lab.tlsproxy`). The certificate is its own CA, so
``sslrootcert=<lab>/tls/server.crt`` with ``sslmode=verify-ca`` works too.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path


def self_signed(directory: Path, common_name: str = "snapmigrate-lab") -> TlsFiles:
    """Write (once) an EC P-256 key and a 10-year self-signed CA certificate in ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(cert=directory / "server.crt", key=directory / "server.key")
    if files.cert.exists() and files.key.exists():
        return files
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("*.rds.amazonaws.com"), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    files.key.touch(mode=0o600)
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files
