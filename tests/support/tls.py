"""Certificates for TLS tests, made by the ``openssl`` command: a CA, and a server
certificate it signs for one host name."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from tests.support import processes, require_binary


@dataclass(frozen=True)
class Certificates:
    ca: Path
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        """A client's default context (host names checked) trusting only this CA."""
        return ssl.create_default_context(cafile=str(self.ca))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert), str(self.key))
        return context


def make_certificates(directory: Path, host: str) -> Certificates:
    """A CA and a certificate for ``host`` signed by it (the extensions a strict verifier,
    Python 3.13's default, requires)."""
    openssl = require_binary("openssl")
    ca_key, ca = directory / "ca.key", directory / "ca.pem"
    key, cert = directory / "server.key", directory / "server.pem"
    request = directory / "server.csr"
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    processes.run(
        openssl, "req", "-x509", *curve, "-keyout", ca_key, "-out", ca, "-days", "2",
        "-subj", "/CN=nexus-shop test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    processes.run(
        openssl, "req", "-new", *curve, "-keyout", key, "-out", request, "-subj", f"/CN={host}",
    )  # fmt: skip
    extensions = directory / "server.ext"
    extensions.write_text(
        f"subjectAltName=DNS:{host}\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\n"
        "subjectKeyIdentifier=hash\n"
    )
    processes.run(
        openssl, "x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key,
        "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", extensions,
    )  # fmt: skip
    return Certificates(ca=ca, cert=cert, key=key)
