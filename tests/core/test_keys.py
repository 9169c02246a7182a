from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from emulator.core.keys import KeyFormatError, KeyRing, jwk_thumbprint, load_key
from tests.conftest import FIXTURE_KEYS

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def pem_private(key, fmt=serialization.PrivateFormat.PKCS8) -> str:  # type: ignore[no-untyped-def]
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def pem_public(key, fmt=serialization.PublicFormat.SubjectPublicKeyInfo) -> str:  # type: ignore[no-untyped-def]
    return key.public_key().public_bytes(serialization.Encoding.PEM, fmt).decode()


def test_pem_forms() -> None:
    spki = load_key(pem_public(RSA_KEY))
    pkcs1 = load_key(pem_public(RSA_KEY, serialization.PublicFormat.PKCS1))
    pkcs8 = load_key(pem_private(RSA_KEY))
    pkcs1_private = load_key(pem_private(RSA_KEY, serialization.PrivateFormat.TraditionalOpenSSL))
    ec_private = load_key(pem_private(EC_KEY, serialization.PrivateFormat.TraditionalOpenSSL))
    assert not spki.is_private and not pkcs1.is_private
    assert pkcs8.is_private and pkcs1_private.is_private and ec_private.is_private
    assert spki.kid == pkcs1.kid == pkcs8.kid == pkcs1_private.kid  # the RFC 7638 thumbprint
    assert ec_private.kty == "EC"


def test_annotated_fixture_pem() -> None:
    key = load_key((FIXTURE_KEYS / "iadvize-emulator.private.pem").read_text())
    assert key.is_private and key.bits == 2048


def test_single_line_base64_spki_like_the_iadvize_docs() -> None:
    production = (
        "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1KdAzuUa5rOXgLHavoDRYoNXzwWz/pFhgGypYFbvV8DNjB93XK2AzKTwW+vxT7RYl4f+"
        "sKLdEi3dJYgPt2hquhTNmFxAzRvTuolUOKr1XNx7QbDj+7cfLVDYjmds/ydNtyHi8TUHSvfzs8SGXO5E5H13llmayPEslHKShG0cLIDcLNr6hJcf"
        "v9fvOZqQlLQ4Bx7to/66IHke9zY+1oidrUdFGzxXG+RGK81mIMuXj6N2EGJ7YYcQqXJfBJnWFlSGCQNttw5Rfj00eZbkMRO3XohhNqGIiBG2tejS"
        "jfB53UpiHdbzni+tyB72R5aaq4d+gkkgaOVYn/Or2fArOH2FUQIDAQAB"
    )
    key = load_key(production)
    assert key.bits == 2048 and not key.is_private
    assert key.public_spki_b64() == production


def test_jwk_forms() -> None:
    jwk = load_key(pem_public(RSA_KEY)).public_jwk()
    from_jwk = load_key({**jwk, "kid": "k1"})
    assert from_jwk.kid == "k1"
    assert from_jwk.public.public_numbers() == RSA_KEY.public_key().public_numbers()
    assert load_key(json.dumps(jwk)).kid == jwk["kid"]
    numbers = RSA_KEY.private_numbers()

    def b64u(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

    private_jwk = {**jwk, "d": b64u(numbers.d)}  # no CRT members: primes are recovered
    private = load_key(private_jwk)
    assert private.is_private
    ec_jwk = load_key(pem_public(EC_KEY)).public_jwk()
    assert load_key(ec_jwk).kty == "EC"


def test_public_export_never_has_private_members() -> None:
    key = load_key(pem_private(RSA_KEY))
    assert set(key.public_jwk()) == {"kty", "n", "e", "kid"}
    assert "PRIVATE" not in key.public_pem()
    assert set(key.describe()) == {"kid", "kty", "bits", "thumbprint"}
    assert "private" not in repr(key).lower().replace("is_private", "")


@pytest.mark.parametrize(
    ("material", "fragment"),
    [
        ("", "empty"),
        ("hello world!", "neither PEM"),
        ("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----", "could not be parsed"),
        ("-----BEGIN PUBLIC KEY-----\nMIIB", "no complete"),
        ("{not json", "looks like JSON"),
        ('["a"]', "not a list"),
        ('{"keys": []}', "JWK Set"),
        ({"kty": "oct", "k": "c2VjcmV0"}, "shared secret"),
        ({"kty": "RSA", "n": 5, "e": "AQAB"}, "base64url"),
        ({"kty": "EC", "crv": "P-192", "x": "AA", "y": "AA"}, "not supported"),
        ("QUJD", "not a DER"),
    ],
)
def test_refusals(material: object, fragment: str) -> None:
    with pytest.raises(KeyFormatError, match=fragment):
        load_key(material)  # type: ignore[arg-type]


def test_encrypted_and_unsupported_keys() -> None:
    encrypted = RSA_KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
    ).decode()
    with pytest.raises(KeyFormatError, match="encrypted PEM private keys are not supported"):
        load_key(encrypted)
    with pytest.raises(KeyFormatError, match="only RSA and EC"):
        load_key(pem_public(ed25519.Ed25519PrivateKey.generate()))


def test_key_ring() -> None:
    a, b = load_key(pem_public(RSA_KEY)), load_key(pem_public(EC_KEY))
    ring = KeyRing([a, b])
    assert ring.get(a.kid) is a and len(ring) == 2 and ring.kids() == [a.kid, b.kid]
    assert [k["kid"] for k in ring.public_jwks()["keys"]] == [a.kid, b.kid]
    with pytest.raises(KeyFormatError, match="duplicate kid"):
        ring.add(load_key(pem_private(RSA_KEY)))
    assert jwk_thumbprint(RSA_KEY.public_key()) == a.kid


def test_jwk_with_only_x5c() -> None:
    """A JWKS key that carries only x5c: a certificate (RFC 7517) or a bare SPKI (as some sample IdPs publish)."""
    cert_pem = (FIXTURE_KEYS / "liveassist-emulator.crt").read_text()
    from cryptography import x509 as cx509

    cert = cx509.load_pem_x509_certificate(cert_pem.encode())
    der_cert = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    from_cert = load_key({"kty": "RSA", "kid": "lpsso2026", "x5c": [der_cert]})
    assert from_cert.kid == "lpsso2026"
    assert from_cert.public.public_numbers() == cert.public_key().public_numbers()
    spki = base64.b64encode(
        RSA_KEY.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).decode()
    assert load_key({"kty": "RSA", "x5c": [spki]}).public.public_numbers() == RSA_KEY.public_key().public_numbers()
    for bad in ([], ["not base64!"], [base64.b64encode(b"junk").decode()], "x"):
        with pytest.raises(KeyFormatError, match="x5c"):
            load_key({"kty": "RSA", "x5c": bad})


@pytest.mark.parametrize("form", ["pem", "der"])
def test_inconsistent_rsa_private_key_is_refused(form: str) -> None:
    """Loading skips OpenSSL's slow primality test but still checks the key's arithmetic: a key whose private
    exponent does not match its modulus (a corrupted or hand-edited file) is refused."""
    good = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_numbers()
    bad = rsa.RSAPrivateNumbers(
        good.p, good.q, good.d + 2, good.dmp1, good.dmq1, good.iqmp, good.public_numbers
    ).private_key(unsafe_skip_rsa_key_validation=True)
    encoding = serialization.Encoding.PEM if form == "pem" else serialization.Encoding.DER
    data = bad.private_bytes(encoding, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    material = data.decode() if form == "pem" else base64.b64encode(data).decode()
    with pytest.raises(KeyFormatError, match="inconsistent"):
        load_key(material)
