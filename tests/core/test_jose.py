from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from emulator.core import jose
from emulator.core.jose import JoseError
from emulator.core.keys import load_key
from tests import tokens

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEY = load_key(
    RSA_KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
)
PUBLIC = load_key(tokens.public_pem(RSA_KEY))


def test_size_cap_before_parsing() -> None:
    with pytest.raises(JoseError) as exc:
        jose.parse_compact("a." * 40000, max_bytes=65536)
    assert exc.value.code == "too_large"


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (None, "not_text"),
        ("", "empty"),
        ("a.b", "segments"),
        ("a.b.c.d", "segments"),
        ("a+b.c.d", "base64url"),
        (".a.b", "header_missing"),
        ("e30x.a.b", "header_json"),
        ("WzFd.a.b", "header_json"),
    ],
)
def test_parse_refusals(token: object, code: str) -> None:
    with pytest.raises(JoseError) as exc:
        jose.parse_compact(token)
    assert exc.value.code == code


def test_alg_allow_list_and_none() -> None:
    assert jose.check_alg({"alg": "RS256"}, {"RS256"}) == "RS256"
    for header, code in [
        ({}, "alg_missing"),
        ({"alg": "none"}, "alg_none"),
        ({"alg": "NONE"}, "alg_none"),
        ({"alg": "HS256"}, "alg_not_allowed"),
    ]:
        with pytest.raises(JoseError) as exc:
            jose.check_alg(header, {"RS256"})
        assert exc.value.code == code


def test_jws_verify_and_sign_roundtrip() -> None:
    token = jose.jws_sign({"a": 1}, KEY, "RS256", headers={"kid": KEY.kid})
    assert jose.jws_verify(jose.parse_compact(token), PUBLIC, {"RS256"}) == b'{"a":1}'
    other = load_key(tokens.public_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    with pytest.raises(JoseError) as exc:
        jose.jws_verify(jose.parse_compact(token), other, {"RS256"})
    assert exc.value.code == "bad_signature"


def test_no_hmac_with_a_public_key() -> None:
    """The classic confusion: an HS256 token 'signed' with the PEM of the public key."""
    forged = tokens.jws({"a": 1}, PUBLIC.public_pem().encode(), "HS256")
    with pytest.raises(JoseError) as exc:
        jose.jws_verify(jose.parse_compact(forged), PUBLIC, {"RS256"})
    assert exc.value.code == "alg_not_allowed"
    with pytest.raises(JoseError) as exc:
        jose.jws_verify(jose.parse_compact(forged), PUBLIC, {"RS256", "HS256"})
    assert exc.value.code == "alg_not_allowed"


def test_alg_key_type_mismatch_and_crit() -> None:
    ec_key = load_key(tokens.public_pem(ec.generate_private_key(ec.SECP256R1())))
    token = jose.jws_sign({"a": 1}, KEY, "RS256")
    with pytest.raises(JoseError) as exc:
        jose.jws_verify(jose.parse_compact(token), ec_key, {"RS256"})
    assert exc.value.code == "key_type"
    crit = tokens.jws({"a": 1}, RSA_KEY, header={"alg": "RS256", "crit": ["b64"], "b64": False})
    with pytest.raises(JoseError) as exc:
        jose.jws_verify(jose.parse_compact(crit), PUBLIC, {"RS256"})
    assert exc.value.code == "crit"


def test_hmac_verify() -> None:
    token = tokens.jws({"a": 1}, b"s3cret", "HS256")
    assert jose.hmac_verify(jose.parse_compact(token), b"s3cret", {"HS256"}) == b'{"a":1}'
    with pytest.raises(JoseError) as exc:
        jose.hmac_verify(jose.parse_compact(token), b"other", {"HS256"})
    assert exc.value.code == "bad_signature"
    with pytest.raises(ValueError, match="only HMAC"):
        jose.hmac_verify(jose.parse_compact(token), b"s3cret", {"HS256", "RS256"})


def test_jwe_decrypt_tells_unwrap_from_content_failures() -> None:
    good = tokens.jwe(b"hello", RSA_KEY.public_key())
    assert jose.jwe_decrypt(jose.parse_compact(good), KEY) == b"hello"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(JoseError) as exc:
        jose.jwe_decrypt(jose.parse_compact(tokens.jwe(b"hello", other.public_key())), KEY)
    assert exc.value.code == "unwrap_failed"
    small = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    with pytest.raises(JoseError) as exc:
        jose.jwe_decrypt(jose.parse_compact(tokens.jwe(b"hello", small.public_key())), KEY)
    assert exc.value.code == "unwrap_failed" and "384 bytes" in exc.value.message
    parts = good.split(".")
    parts[4] = tokens.b64u(bytes(16))
    with pytest.raises(JoseError) as exc:
        jose.jwe_decrypt(jose.parse_compact(".".join(parts)), KEY)
    assert exc.value.code == "decrypt_failed"


def test_jwe_encrypt_roundtrip() -> None:
    token = jose.jwe_encrypt(b"payload", PUBLIC, "RSA-OAEP-256", "A256GCM", cty="JWT")
    assert tokens.decode_segment(token, 0) == {"alg": "RSA-OAEP-256", "enc": "A256GCM", "cty": "JWT"}
    assert jose.jwe_decrypt(jose.parse_compact(token), KEY) == b"payload"
