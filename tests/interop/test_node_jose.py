"""Tokens minted by a real brand-side library: Node's panva/jose, as a Node brand backend would.

Skipped cleanly when node/npm are missing; under CI=true a failed `npm ci` fails the test instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import tokens
from tests.conftest import FIXTURE_KEYS, PROJECT
from tests.vendors.iadvize.helpers import access_token, assert_rejected, sdk_secured

NODE_DIR = Path(__file__).parent / "node"
CI = os.environ.get("CI") == "true"


@pytest.fixture(scope="module")
def node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node and npm are not installed")
    if not (NODE_DIR / "node_modules" / "jose" / "package.json").is_file():
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if result.returncode != 0:
            message = f"npm ci failed: {result.stderr[-2000:]}"
            if CI:
                pytest.fail(message)
            pytest.skip(message)
    return node


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
