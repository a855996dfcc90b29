"""Pebble, the ACME test server, with a throwaway CA for its own API."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pebble:
    directory_url: str
    management_url: str
    api_ca: Path  # trust for Pebble's own API
    dns_address: str  # pebble-challtestsrv's DNS server (host:port)
    dns_management_url: str  # where to add records to it

    def set_txt(self, name: str, value: str) -> None:
        import requests

        requests.post(f"{self.dns_management_url}/set-txt", json={"host": name.rstrip(".") + ".", "value": value},
                      timeout=10).raise_for_status()

    def root_certificate(self, destination: Path) -> Path:
        """The root that signs what Pebble issues (it changes on every Pebble start)."""
        import requests

        destination.write_text(requests.get(f"{self.management_url}/roots/0", verify=str(self.api_ca), timeout=10).text)
        return destination


def write_test_ca(work: Path) -> Path:
    """A throwaway CA and a certificate for Pebble's API on 127.0.0.1 and localhost."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hosting test CA")])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (work / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (work / "pebble.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (work / "pebble.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
    return work / "ca.pem"
