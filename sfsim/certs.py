"""TLS material for the simulator.

simple-salesforce in direct mode keeps only the host of ``instance_url`` and always calls
``https://`` (reference, "Two consequences"), so the simulator must speak TLS. At start it
makes (or reuses) a small CA in ``<cert-dir>/ca.pem`` + ``ca-key.pem`` and signs a fresh
server certificate for ``localhost``, ``127.0.0.1`` and ``::1``. Clients trust ``ca.pem``
(``session.verify = ca_path``; the portal's ``SALESFORCE_CA_BUNDLE``). Reusing the CA lets a
portal started earlier keep trusting a restarted simulator.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Unix
    fcntl = None

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class CertPaths:
    ca_path: Path
    cert_path: Path
    key_path: Path


def _write(path: Path, data: bytes, *, private: bool) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)  # atomic: a parallel reader never sees half a file


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_or_make_ca(cert_dir: Path):
    """The CA in ``cert_dir``, made once. A lock file serialises simulators started in
    parallel on one directory, so they all end up signed by the same CA."""
    with open(cert_dir / ".ca.lock", "a+") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        return _load_or_make_ca_locked(cert_dir)


def _load_or_make_ca_locked(cert_dir: Path):
    ca_path, ca_key_path = cert_dir / "ca.pem", cert_dir / "ca-key.pem"
    if ca_path.exists() and ca_key_path.exists():
        cert = x509.load_pem_x509_certificate(ca_path.read_bytes())
        key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        if cert.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=1):
            return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sfsim local CA"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sfsim")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(ca_key_path, _key_pem(key), private=True)
    _write(ca_path, cert.public_bytes(serialization.Encoding.PEM), private=False)
    return cert, key


def ensure_certs(cert_dir: str | os.PathLike, extra_hosts: list[str] | None = None) -> CertPaths:
    """CA (reused if present) + a new server certificate signed by it, in ``cert_dir``."""
    cert_dir = Path(cert_dir)
    cert_dir.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = _load_or_make_ca(cert_dir)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    ips = {"127.0.0.1", "::1"}
    for host in extra_hosts or []:
        try:
            ips.add(str(ipaddress.ip_address(host)))
        except ValueError:
            if host != "localhost":
                names.append(x509.DNSName(host))
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in sorted(ips)]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=True, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    # One server certificate per server: parallel simulators sharing a cert dir never
    # overwrite each other's key. The server loads it and removes the files.
    cert_path = cert_dir / f"server-{os.getpid()}-{cert.serial_number % 0xFFFFFF:x}.pem"
    key_path = cert_path.with_name(cert_path.stem + "-key.pem")
    _write(key_path, _key_pem(key), private=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), private=False)
    return CertPaths(cert_dir / "ca.pem", cert_path, key_path)
