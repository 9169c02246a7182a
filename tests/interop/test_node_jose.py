"""Tokens minted by a real brand-side library: Node's panva/jose, as a Node brand backend would.

Skipped cleanly when node/npm are missing; under CI=true a failed `npm ci` fails the test instead.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import tokens
from tests.conftest import FIXTURE_KEYS, PROJECT
from tests.interop.nodeenv import require_node
from tests.vendors.iadvize.helpers import access_token, assert_rejected, sdk_secured

NODE_DIR = Path(__file__).parent / "node"


@pytest.fixture(scope="module")
def node() -> str:
    return require_node(NODE_DIR, NODE_DIR / "node_modules" / "jose" / "package.json", timeout=180)


def node_mint(node: str, brand_private_pem: str, claims: dict[str, Any]) -> str:
    request = {
        "brandPrivatePem": brand_private_pem,
        "iadvizePublicPem": (FIXTURE_KEYS / "iadvize-emulator.public.pem").read_text().split("\n", 1)[1],
        "claims": claims,
    }
    result = subprocess.run(
        [node, str(NODE_DIR / "mint-iadvize.mjs")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_node_jose_token_is_accepted(client: httpx.Client, node: str, now: float) -> None:
    brand_pem = (FIXTURE_KEYS / "iadvize-brand-demo.private.pem").read_text().split("\n", 1)[1]
    claims = {
        tokens.USER_ID: "node-user",
        tokens.VISITOR_DATA: {"firstName": "Ada"},
        "iat": int(now),
        "exp": int(now) + 60,
    }
    token = node_mint(node, brand_pem, claims)
    assert tokens.decode_segment(token, 0) == {"alg": "RSA-OAEP-256", "enc": "A256GCM", "cty": "JWT"}
    access_token(sdk_secured(client, PROJECT, token), "visitorAuthenticateFromCredentials")


def test_node_jose_token_signed_with_another_key(client: httpx.Client, node: str, other_key: Any, now: float) -> None:
    from cryptography.hazmat.primitives import serialization

    other_pem = other_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    token = node_mint(node, other_pem, {tokens.USER_ID: "node-user", "exp": int(now) + 60})
    assert_rejected(client, sdk_secured(client, PROJECT, token), "jws_signature")
