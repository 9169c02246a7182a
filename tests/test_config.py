"""Configuration files: the embedded defaults, replacing or extending them, key paths, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulator.app import create_app
from emulator.config import ConfigError, load_config
from emulator.testing import emulator_client
from tests import tokens
from tests.conftest import FIXTURE_KEYS
from tests.vendors.iadvize.helpers import sdk_secured

pytestmark = pytest.mark.inprocess

EMULATOR_KEY = (FIXTURE_KEYS / "iadvize-emulator.private.pem").read_text()
BRAND_PUBLIC = (FIXTURE_KEYS / "iadvize-brand-demo.public.pem").read_text()


def write(tmp_path: Path, text: str, name: str = "emulator.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def toml_string(text: str) -> str:
    return '"""' + text + '"""'


def test_defaults() -> None:
    config = load_config()
    assert config.sources[0].endswith("default.toml")
    assert set(config.vendors) == {"avaya", "dixa", "iadvize", "liveassist", "tiledesk"}
    assert config.emulator.journal_size == 1000
    assert config.emulator.max_token_bytes == 65536


def test_user_file_replaces_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, '[emulator]\nsecret = "a secret for this test only"\n')
    config = load_config(path)
    assert config.vendors == {}
    with emulator_client(config) as client:
        assert client.get("/_emulator/health").json() == {"status": "ok", "vendors": []}
        assert client.post("/iadvize/graphql", json={"query": "{ emulator { name } }"}).status_code == 404


def test_extends_default_with_key_paths_relative_to_the_file(tmp_path: Path, brand_key, iadvize_public) -> None:  # type: ignore[no-untyped-def]
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "brand.pem").write_text(tokens.public_pem(brand_key))
    path = write(
        tmp_path,
        """
extends = "default"

[emulator]
journalSize = 5

[[iadvize.users]]
username = "qa@brand.example"
password = "qa-password"

[[iadvize.projects]]
projectId = 4242
brandPublicKeys = ["keys/brand.pem"]
tokenMaxAge = 120

[[iadvize.projects]]
projectId = "7012"
brandPublicKeys = ["keys/brand.pem"]
authenticationEnabled = true
""",
    )
    config = load_config(path)
    assert len(config.sources) == 2
    assert config.emulator.journal_size == 5
    assert config.emulator.secret  # kept from the defaults
    with emulator_client(config) as client:
        assert client.get("/_emulator/tenants/iadvize/4242").json()["tokenMaxAge"] == 120
        assert client.get("/_emulator/tenants/iadvize/7011").status_code == 200  # from the defaults
        assert client.get("/_emulator/tenants/iadvize/7012").json()["authenticationEnabled"] is True  # last wins
        login = {"username": "qa@brand.example", "password": "qa-password", "grant_type": "password"}
        assert client.post("/iadvize/oauth2/token", data=login).status_code == 200
        now = client.get("/_emulator/clock").json()["now"]
        token = tokens.iadvize_token(brand_key, iadvize_public, {tokens.USER_ID: "x", "exp": int(now) + 100})
        assert "errors" not in sdk_secured(client, 4242, token).json()
        for _ in range(8):
            sdk_secured(client, 4242, "garbage")
        assert len(client.get("/_emulator/journal").json()["entries"]) == 5  # the ring buffer holds 5


def test_inline_keys_and_no_tokens_in_the_journal(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
[emulator]
secret = "a secret for this test only"
journalTokens = false

[iadvize]
emulatorKey = {toml_string(EMULATOR_KEY)}

[[iadvize.projects]]
projectId = 1
brandPublicKeys = [{toml_string(BRAND_PUBLIC)}]
""",
    )
    with emulator_client(path) as client:
        sdk_secured(client, 1, "a-token-that-must-not-be-kept")
        journal = client.get("/_emulator/journal").json()
        assert journal["entries"][0]["failedCheck"] == "jwe_format"
        assert "a-token-that-must-not-be-kept" not in json.dumps(journal)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("this is = = not toml", "invalid TOML"),
        ('extends = "mine"\n', 'extends must be "default"'),
        ('[emulator]\nsecret = "short"\n', "at least 16 characters"),
        ('[emulator]\nsecret = "long enough secret here"\ncolour = "blue"\n', "unknown field"),
        ('[emulator]\nsecret = "long enough secret here"\njournalSize = 0\n', "journalSize"),
        ('[emulator]\nsecret = "long enough secret here"\n[zendesk]\nx = 1\n', "unknown vendor section"),
        ('[emulator]\nsecret = "long enough secret here"\n[iadvize]\n', "emulatorKey"),
        (
            '[emulator]\nsecret = "long enough secret here"\n[iadvize]\nemulatorKey = "missing.pem"\n',
            "key file not found",
        ),
        (
            f'[emulator]\nsecret = "long enough secret here"\n[iadvize]\nemulatorKey = {toml_string(BRAND_PUBLIC)}\n',
            "RSA private key",
        ),
        (
            f'[emulator]\nsecret = "long enough secret here"\n[iadvize]\nemulatorKey = {toml_string(EMULATOR_KEY)}\n'
            '[[iadvize.projects]]\nprojectId = "x"\nbrandPublicKeys = []\n',
            "[[iadvize.projects]] #1: projectId",
        ),
        (
            f'[emulator]\nsecret = "long enough secret here"\n[iadvize]\nemulatorKey = {toml_string(EMULATOR_KEY)}\n'
            '[[iadvize.users]]\nusername = "a b"\npassword = "x"\n',
            "[[iadvize.users]] #1",
        ),
    ],
)
def test_config_errors_are_clear(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as exc:
        create_app(write(tmp_path, text))
    assert fragment in str(exc.value)


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("/nonexistent/emulator.toml")


def test_fixtures_dir_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "default.toml").write_text('[emulator]\nsecret = "overridden defaults here"\n')
    monkeypatch.setenv("CHAT_EMULATOR_FIXTURES", str(tmp_path))
    assert load_config().vendors == {}


def test_projects_must_be_a_list_of_tables(tmp_path: Path) -> None:
    text = f'[emulator]\nsecret = "long enough secret here"\n[iadvize]\nemulatorKey = {toml_string(EMULATOR_KEY)}\nprojects = "x"\n'
    with pytest.raises(ConfigError, match=r"\[iadvize\] projects: a list of tables is required"):
        create_app(write(tmp_path, text))
