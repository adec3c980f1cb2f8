"""API Gateway's public HTTPS address, as the local cloud's Lambda functions see it.

On AWS a function calls another service's API at ``https://{api_id}.execute-api.{region}
.amazonaws.com/{stage}/...`` (a URL it got from a stack output or a parameter). Locally that
host name does not resolve to the local cloud and the local cloud speaks plain HTTP, so the
call would leave the machine. This module closes the gap for the functions the local cloud
runs, with no change to their code:

- a certificate authority of the local cloud's own (made once, kept in
  ``<state_dir>/tls``) signs a certificate for ``*.execute-api.<region>.amazonaws.com`` of
  every region;
- an HTTPS listener on loopback serves the API Gateway data plane by host name: a request
  for ``{api_id}.execute-api.{region}.amazonaws.com/{path}`` is the local request
  ``/_aws/execute-api/{api_id}/{path}``, with the original ``Host`` header;
- each Lambda worker gets ``LOCALCLOUD_EXECUTE_API_HTTPS`` (the listener's address, read by
  the worker's ``sitecustomize``, which resolves execute-api host names to it) and a CA
  bundle (the public roots plus the local authority) in ``SSL_CERT_FILE`` and
  ``REQUESTS_CA_BUNDLE``, so ``urllib``, ``requests`` and ``urllib3`` verify the certificate
  as they would on AWS.

Only the local cloud's functions are routed this way; the developer's own shell and tests
keep using the ``http://.../_aws/execute-api/...`` address (:mod:`localcloud.urls`).
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from localcloud.settings import EXECUTE_API_PREFIX
from localcloud.urls import EXECUTE_API_HOST as EXECUTE_API_HOST_PATTERN

log = logging.getLogger("localcloud.apigateway")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# The commercial regions with API Gateway; a name outside them gets its own certificate
# entry through ``extra_regions``.
REGIONS = (
    "af-south-1",
    "ap-east-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
)
EXECUTE_API_HOST = re.compile(rf"^{EXECUTE_API_HOST_PATTERN}(?::443)?$")
ADDRESS_ENV = "LOCALCLOUD_EXECUTE_API_HTTPS"


@dataclass(frozen=True)
class TlsFiles:
    """The local authority's certificate bundle and the listener's certificate and key."""

    ca_bundle: Path  # public roots + the local authority: what clients verify against
    certificate: Path
    private_key: Path


def host_names(regions: Iterable[str]) -> list[str]:
    return [f"*.execute-api.{region}.amazonaws.com" for region in sorted(set(regions))]


def tls_files(tls_dir: Path) -> TlsFiles:
    """Where the files are kept under ``tls_dir`` (they may not exist yet)."""
    return TlsFiles(
        ca_bundle=tls_dir / "ca-bundle.pem",
        certificate=tls_dir / "execute-api.pem",
        private_key=tls_dir / "execute-api.key",
    )


def ensure_tls_files(
    tls_dir: Path, extra_regions: Iterable[str] = (), *, now: datetime.datetime | None = None
) -> TlsFiles:
    """The authority and certificate under ``tls_dir``, made now if missing, incomplete or
    close to expiry (``now``: the current time, for tests)."""
    now = now or datetime.datetime.now(datetime.UTC)
    files = tls_files(tls_dir)
    names = host_names([*REGIONS, *extra_regions])
    covered = tls_dir / "host-names.json"
    if (
        all(path.is_file() for path in (files.ca_bundle, files.certificate, files.private_key))
        and covered.is_file()
        and set(names) <= set(json.loads(covered.read_text()))
        and _valid_for_a_while(files.certificate, now)
    ):
        return files
    tls_dir.mkdir(parents=True, exist_ok=True)
    _write_certificates(files, names, now)
    covered.write_text(json.dumps(names))
    return files


def _valid_for_a_while(certificate: Path, now: datetime.datetime, days: int = 30) -> bool:
    """Whether a kept certificate stays valid for ``days`` more (else it is made again)."""
    from cryptography import x509

    try:
        expires = x509.load_pem_x509_certificate(certificate.read_bytes()).not_valid_after_utc
    except ValueError:
        return False
    return expires - now > datetime.timedelta(days=days)


def _write_certificates(files: TlsFiles, names: list[str], now: datetime.datetime) -> None:
    import certifi
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localcloud local authority")])
    ca_certificate = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
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
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        # Clients refuse server certificates valid for more than 398 days.
        .not_valid_after(now + datetime.timedelta(days=397))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    files.private_key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    files.private_key.chmod(0o600)
    files.certificate.write_bytes(certificate.public_bytes(pem))
    public_roots = Path(certifi.where()).read_bytes()
    files.ca_bundle.write_bytes(public_roots + b"\n" + ca_certificate.public_bytes(pem))


class HostRoutedExecuteApi:
    """WSGI: ``https://{api_id}.execute-api.{region}.amazonaws.com/{path}`` -> the data plane."""

    def __init__(self, execute_api: WsgiApp) -> None:
        self._execute_api = execute_api

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        host = str(environ.get("HTTP_HOST") or "").lower()
        match = EXECUTE_API_HOST.match(host)
        if match is None:
            body = json.dumps({"message": f"no API Gateway endpoint at host {host!r}"})
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [body.encode()]
        environ = dict(environ)
        environ["PATH_INFO"] = (
            f"{EXECUTE_API_PREFIX}/{match.group('api_id')}{environ.get('PATH_INFO') or '/'}"
        )
        return self._execute_api(environ, start_response)


class HttpsEndpoint:
    """The HTTPS listener on loopback; :meth:`start` serves until :meth:`stop`."""

    def __init__(self, execute_api: WsgiApp, files: TlsFiles, port: int) -> None:
        self._app = HostRoutedExecuteApi(execute_api)
        self._files = files
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._files.certificate, self._files.private_key)
        self._server = make_server(
            "127.0.0.1", self.port, self._app, threaded=True, ssl_context=context
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="localcloud-execute-api-https", daemon=True
        )
        self._thread.start()
        log.info("execute-api HTTPS for functions on %s", self.address)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
