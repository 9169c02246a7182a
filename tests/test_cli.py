"""The `chat-emulator` console script, run as a subprocess: serve, healthcheck, mint, explain.

One live server for the module (`serve` on a free port, with a configuration that gives it its own emulator key,
so that `mint --server` visibly takes the key from the server). ``serve()`` is also used by test_live_server.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.cli import CONFIG_ENV, build_parser
from emulator.config import FIXTURES_ENV
from emulator.testing import BASE_URL_ENV, emulator_client
from tests.vendors.iadvize.helpers import access_token, assert_rejected, sdk_secured

ROOT = Path(__file__).resolve().parent.parent
FIELD = "visitorAuthenticateFromCredentials"


def chat_emulator() -> list[str]:
    """The console script installed next to this interpreter (else the module, e.g. in an odd venv)."""
    script = Path(sys.executable).with_name("chat-emulator")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "emulator.cli"]


def cli_env(**extra: str) -> dict[str, str]:
    """This environment minus anything that would point the CLI at another configuration or server."""
    env = {k: v for k, v in os.environ.items() if k not in (BASE_URL_ENV, CONFIG_ENV, FIXTURES_ENV)}
    env.update(extra)
    return env


def run_cli(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*chat_emulator(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env or cli_env(),
        cwd=ROOT,
        timeout=60,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(
    *args: str, log: Path, log_level: str = "warning", startup: float = 30.0, scheme: str = "http"
) -> Iterator[str]:
    """`chat-emulator serve` on a free loopback port; yields its URL once `chat-emulator healthcheck` passes.
    The server is stopped on exit, whatever happens; its output is in ``log`` (and in the failure message)."""
    for attempt in range(3):  # the free port may be taken between finding it and binding it
        port = free_port()
        url = f"{scheme}://127.0.0.1:{port}"
        with log.open("w") as out:
            command = [*chat_emulator(), "serve", "--port", str(port), "--log-level", log_level, *args]
            server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=cli_env(), cwd=ROOT)
        try:
            deadline = time.monotonic() + startup
            while server.poll() is None and time.monotonic() < deadline:
                if run_cli("healthcheck", "--url", url, "--timeout", "1").returncode == 0:
                    break
                time.sleep(0.1)
            else:
                output = log.read_text(encoding="utf-8", errors="replace")
                if server.poll() is not None and "address already in use" in output.lower() and attempt < 2:
                    continue
                pytest.fail(f"`chat-emulator serve` did not become healthy on {url} (exit {server.poll()}):\n{output}")
            yield url
            return
        finally:
            if server.poll() is None:
                server.terminate()
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait(timeout=10)


# -- fixtures --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server on the default configuration, but with its own emulator key (a file beside the config)."""
    directory = tmp_path_factory.mktemp("cli-live")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (directory / "emulator.private.pem").write_bytes(pem)
    config = directory / "emulator.toml"
    config.write_text('extends = "default"\n\n[iadvize]\nemulatorKey = "emulator.private.pem"\n', encoding="utf-8")
    with serve("--config", str(config), log=directory / "server.log") as url:
        yield url


@pytest.fixture
def live_client(live: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live, timeout=10) as client:
        assert client.post("/_emulator/reset").status_code == 200
        yield client
        client.post("/_emulator/reset")


def mint(*args: str) -> str:
    result = run_cli("mint", "iadvize", *args)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout.strip()


def explain(*args: str, stdin: str | None = None) -> tuple[int, dict]:
    result = run_cli("explain", "iadvize", *args, stdin=stdin)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("chat-emulator: "), lines[0]
    return lines[0]


# -- serve and healthcheck -------------------------------------------------------------------------------
def test_serve_and_healthcheck(live: str) -> None:
    result = run_cli("healthcheck", "--url", live)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok: vendors ['avaya', 'dixa', 'iadvize', 'liveassist', 'tiledesk']"


def test_healthcheck_fails_where_nothing_listens() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("healthcheck", "--url", url, "--timeout", "2")
    assert result.returncode == 1
    assert one_line_error(result).startswith(f"chat-emulator: unhealthy: {url}/_emulator/health")
    assert result.stdout == ""


def test_healthcheck_refuses_a_url_that_is_not_http() -> None:
    result = run_cli("healthcheck", "--url", "127.0.0.1:8080")
    assert result.returncode == 2
    assert "http(s) URL" in one_line_error(result)


def test_serve_binds_to_loopback_by_default() -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8080)
    result = run_cli("serve", "--help")
    assert result.returncode == 0
    assert "loopback" in result.stdout


BAD_CONFIGS = {
    "missing": None,
    "invalid-toml": "x = \n",
    "short-secret": '[emulator]\nsecret = "short"\n',
    "unknown-vendor": '[emulator]\nsecret = "0123456789abcdef0123"\n[nope]\nx = 1\n',
    "missing-key-file": 'extends = "default"\n[iadvize]\nemulatorKey = "absent.pem"\n',
    "bad-inline-key": 'extends = "default"\n[iadvize]\nemulatorKey = "%s"\n' % ("A" * 80),
    "bad-project": 'extends = "default"\n[[iadvize.projects]]\nprojectId = "1"\n',
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_serve_refuses_a_bad_config_in_one_line(case: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    if BAD_CONFIGS[case] is not None:
        path.write_text(BAD_CONFIGS[case], encoding="utf-8")
    # --port: should the config be accepted after all, the server must not take 8080; the timeout ends it.
    result = run_cli("serve", "--port", str(free_port()), "--config", str(path))
    assert result.returncode == 2
    assert one_line_error(result).startswith("chat-emulator: configuration error: ")


@pytest.mark.parametrize("case", ["directory", "not-utf8"])
def test_serve_refuses_an_unreadable_config_in_one_line(case: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    if case == "directory":
        path.mkdir()
    else:
        path.write_bytes(b"\xff\xfe[emulator]\n")
    result = run_cli("serve", "--port", str(free_port()), "--config", str(path))
    assert result.returncode == 2
    assert one_line_error(result).startswith("chat-emulator: configuration error: ")


def test_serve_reads_the_config_named_by_the_environment(tmp_path: Path) -> None:
    """What docker-compose.yml's example relies on: no --config, CHAT_EMULATOR_CONFIG names the file."""
    path = tmp_path / "from-env.toml"
    result = run_cli("serve", "--port", str(free_port()), env=cli_env(**{CONFIG_ENV: str(path)}))
    assert result.returncode == 2
    assert str(path) in one_line_error(result)


# -- mint ------------------------------------------------------------------------------------------------
def test_mint_prints_a_jwe_the_emulator_accepts() -> None:
    token = mint("--project", "7011", "--user-id", "alice", "--visitor-data", '{"firstName":"A"}')
    assert "\n" not in token
    assert len(token.split(".")) == 5
    assert all(token.split(".")[i] for i in (0, 1, 2, 3, 4))
    with emulator_client() as client:
        assert access_token(sdk_secured(client, 7011, token), FIELD)


@pytest.mark.parametrize(
    ("args", "warning"),
    [
        (
            ["--project", "7011", "--ttl", "91"],
            "warning: --ttl 91 is over project 7011's tokenMaxAge (60 s) plus its clock skew (30 s)",
        ),
        (["--project", "424242"], "warning: project 424242 is not registered"),
        (["--project", "7012"], "warning: project 7012 has authenticated mode off"),
    ],
)
def test_mint_warns_on_stderr_and_still_prints_the_token(args: list[str], warning: str) -> None:
    result = run_cli("mint", "iadvize", "--user-id", "alice", *args)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(warning), result.stderr
    assert len(result.stdout.strip().split(".")) == 5


def test_mint_within_max_age_plus_skew_does_not_warn() -> None:
    token = mint("--project", "7011", "--user-id", "alice", "--ttl", "80")  # mint() asserts an empty stderr
    with emulator_client() as client:
        assert access_token(sdk_secured(client, 7011, token), FIELD)


def test_mint_with_server_warns_about_the_servers_projects(live: str) -> None:
    result = run_cli("mint", "iadvize", "--user-id", "a", "--project", "424242", "--server", live)
    assert result.returncode == 0
    assert result.stderr.startswith("warning: project 424242 is not registered")
    result = run_cli("mint", "iadvize", "--user-id", "a", "--project", "7011", "--ttl", "600", "--server", live)
    assert "tokenMaxAge (60 s)" in result.stderr


def test_mint_refuses_config_and_server_together(live: str, tmp_path: Path) -> None:
    result = run_cli("mint", "iadvize", "--user-id", "a", "--project", "7011", "--server", live, "--config", "x.toml")
    assert result.returncode == 2
    assert one_line_error(result) == "chat-emulator: give --config or --server, not both"


def test_explain_with_server_reports_the_servers_error(live: str) -> None:
    result = run_cli("explain", "iadvize", "--project", "7011", "tok", "--server", live + "/no-such-prefix")
    assert result.returncode == 2
    assert "answered 404: Not Found" in one_line_error(result)


@pytest.mark.parametrize(
    ("visitor_data", "message"),
    [("not json", "--visitor-data is not JSON"), ("[1]", "--visitor-data must be a JSON object")],
)
def test_mint_refuses_visitor_data_that_is_not_a_json_object(visitor_data: str, message: str) -> None:
    result = run_cli("mint", "iadvize", "--project", "7011", "--user-id", "a", "--visitor-data", visitor_data)
    assert result.returncode == 2
    assert result.stdout == ""
    assert one_line_error(result).startswith(f"chat-emulator: {message}")


def test_mint_with_server_takes_the_servers_key_and_clock(live: str, live_client: httpx.Client) -> None:
    frozen = int(time.time()) + 10 * 86400  # far from this machine's clock: a locally dated token would be expired
    assert live_client.post("/_emulator/clock", json={"freeze": frozen}).status_code == 200

    token = mint("--project", "7011", "--user-id", "alice", "--ttl", "45", "--server", live)
    code, report = explain("--project", "7011", "--server", live, "-", stdin=token)
    assert code == 0, report["summary"]
    assert report["now"] == frozen
    assert report["decoded"]["claims"]["exp"] == frozen + 45
    assert access_token(sdk_secured(live_client, 7011, token), FIELD)

    # Without --server: the default configuration's key, which this server does not hold.
    local = mint("--project", "7011", "--user-id", "alice")
    assert_rejected(live_client, sdk_secured(live_client, 7011, local), "jwe_decrypt")
    # The server's key, but issued an hour before the server's (frozen) now.
    stale = mint("--project", "7011", "--user-id", "alice", "--server", live, "--now", str(frozen - 3600))
    assert_rejected(live_client, sdk_secured(live_client, 7011, stale), "not_expired")


def test_mint_with_server_where_nothing_listens_fails_cleanly() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("mint", "iadvize", "--project", "7011", "--user-id", "a", "--server", url)
    assert result.returncode == 2
    assert result.stdout == ""
    one_line_error(result)


# -- explain ---------------------------------------------------------------------------------------------
def test_explain_accepts_a_minted_token() -> None:
    token = mint("--project", "7011", "--user-id", "alice")
    code, report = explain("--project", "7011", token)
    assert code == 0
    assert report["ok"] is True
    assert report["failedCheck"] is None
    assert (report["vendor"], report["tenant"]) == ("iadvize", "7011")
    assert all(check["status"] == "passed" for check in report["checks"])


def test_explain_reads_the_token_from_stdin() -> None:
    token = mint("--project", "7011", "--user-id", "alice")
    code, report = explain("--project", "7011", "-", stdin=token + "\n")
    assert code == 0
    assert report["ok"] is True
    assert report["decoded"]["claims"]["https://iadvize.com/userId"] == "alice"


@pytest.mark.parametrize(
    ("project", "token_args", "check"),
    [
        ("7011", None, "jwe_format"),
        ("7012", [], "authentication_enabled"),
        ("7011", ["--now", "1000000000"], "not_expired"),
        ("424242", [], "project_known"),
    ],
)
def test_explain_names_the_failed_check(project: str, token_args: list[str] | None, check: str) -> None:
    token = "not.a.jwe" if token_args is None else mint("--project", "7011", "--user-id", "alice", *token_args)
    result = run_cli("explain", "iadvize", "--project", project, token)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["failedCheck"] == check
    assert report["summary"].startswith(f"{check}: ")
    assert [c["check"] for c in report["checks"] if c["status"] == "failed"] == [check]


def test_explain_with_server_uses_the_servers_key(live: str, live_client: httpx.Client) -> None:
    token = mint("--project", "7011", "--user-id", "alice", "--server", live)
    code, report = explain("--project", "7011", "--server", live, token)
    assert (code, report["ok"]) == (0, True)
    # The same token offline, against the default configuration's key: it was encrypted to another key.
    code, report = explain("--project", "7011", token)
    assert (code, report["failedCheck"]) == (1, "jwe_decrypt")
