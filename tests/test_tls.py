"""`chat-emulator serve --tls`: HTTPS for the Avaya Chat SDK, which refuses a non-https hostURL."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import subprocess
import time
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.test_cli import ROOT, chat_emulator, cli_env, free_port, one_line_error, run_cli, serve

FIXTURE_CERT = ROOT / "fixtures" / "tls" / "localhost.crt"


def trusting(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


def test_tls_with_the_fixture_certificate(tmp_path: Path) -> None:
    with serve("--tls", log=tmp_path / "server.log", scheme="https") as url:
        assert url.startswith("https://")
        response = httpx.get(f"{url}/_emulator/health", verify=trusting(FIXTURE_CERT))
        assert response.json()["status"] == "ok"
        # the hostname the SDK's hostURL would use
        port = url.rsplit(":", 1)[1]
        assert httpx.get(f"https://localhost:{port}/_emulator/health", verify=trusting(FIXTURE_CERT)).status_code == 200
        # the healthcheck trusts the fixture certificate by itself
        assert run_cli("healthcheck", "--url", url).returncode == 0


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "brand.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "brand.crt", directory / "brand.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_tls_with_the_brands_own_certificate(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [*chat_emulator(), "serve", "--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=cli_env(),
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"https://127.0.0.1:{port}/_emulator/health", verify=trusting(cert), timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError(log.read_text())
        assert response.json()["status"] == "ok"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_tls_options_refused_cleanly(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    half = run_cli("serve", "--port", str(free_port()), "--tls-cert", str(cert))
    assert half.returncode == 2
    assert one_line_error(half) == "chat-emulator: --tls-cert and --tls-key go together"
    missing = run_cli(
        "serve", "--port", str(free_port()), "--tls-cert", str(cert), "--tls-key", str(tmp_path / "nope.key")
    )
    assert missing.returncode == 2
    assert "cannot use the TLS certificate/key" in one_line_error(missing)
    mismatched = run_cli("serve", "--port", str(free_port()), "--tls-cert", str(FIXTURE_CERT), "--tls-key", str(key))
    assert mismatched.returncode == 2
    assert "cannot use the TLS certificate/key" in one_line_error(mismatched)
