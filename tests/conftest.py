"""Shared fixtures. The suite runs in-process by default; set EMULATOR_BASE_URL to run it against a live
`chat-emulator serve` on the default configuration (tests then register their own tenants with random ids)."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.testing import BASE_URL_ENV, emulator_client
from tests import tokens

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_KEYS = ROOT / "fixtures" / "keys"
LIVE = bool(os.environ.get(BASE_URL_ENV))

OPERATOR = {"username": "operator@brand.example", "password": "TEST-ONLY-password"}
PROJECT = "7011"  # default fixtures: authentication enabled, demo brand key
PROJECT_DISABLED = "7012"  # default fixtures: authentication disabled


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if LIVE:
        skip = pytest.mark.skip(reason="needs the app in this process; EMULATOR_BASE_URL points at a live server")
        for item in items:
            if "inprocess" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def client() -> Iterator[httpx.Client]:
    with emulator_client() as c:
        yield c


@pytest.fixture(autouse=True)
def _reset(request: pytest.FixtureRequest) -> None:
    if "client" in request.fixturenames:
        client = request.getfixturevalue("client")
        assert client.post("/_emulator/reset").status_code == 200


@pytest.fixture(scope="session")
def brand_key() -> Any:
    return tokens.load_private(FIXTURE_KEYS / "iadvize-brand-demo.private.pem")


@pytest.fixture(scope="session")
def iadvize_public() -> Any:
    return tokens.load_public(FIXTURE_KEYS / "iadvize-emulator.public.pem")


@pytest.fixture(scope="session")
def other_key() -> Any:
    """A key pair nobody registered: 'another key'."""
    return tokens.new_rsa_key()


@pytest.fixture
def now(client: httpx.Client) -> float:
    return client.get("/_emulator/clock").json()["now"]


@pytest.fixture
def operator_token(client: httpx.Client) -> str:
    response = client.post("/iadvize/oauth2/token", data={**OPERATOR, "grant_type": "password"})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def random_project_id() -> str:
    return str(random.randint(10**8, 10**9))
