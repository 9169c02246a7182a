"""The iAdvize, Avaya, Live Assist and control-plane suites, unchanged, against a live `chat-emulator serve` (uvicorn) instead of the
in-process app: a child pytest with EMULATOR_BASE_URL pointing at the server (see tests/conftest.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.testing import BASE_URL_ENV
from tests.test_cli import ROOT, cli_env, serve

SUITES = [
    "tests/vendors/iadvize",
    "tests/vendors/avaya",
    "tests/vendors/liveassist",
    "tests/vendors/tiledesk",
    "tests/vendors/dixa",
    "tests/control",
]
CHILD_ENV = "CHAT_EMULATOR_LIVE_CHILD"  # set in the child: it never starts another one


@pytest.mark.skipif(bool(os.environ.get(CHILD_ENV)), reason="already inside the live-server run")
def test_suites_pass_against_a_live_server(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    # log-level info: uvicorn's access log shows the suites' requests reached this server.
    with serve(log=log, log_level="info") as url:
        command = [sys.executable, "-m", "pytest", *SUITES, "-q", "-p", "no:cacheprovider"]
        env = cli_env(**{BASE_URL_ENV: url, CHILD_ENV: "1"})
        try:
            child = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"the live-server run did not finish in {exc.timeout} s:\n{exc.stdout}\n{exc.stderr}")
    output = child.stdout + child.stderr
    server_log = log.read_text(encoding="utf-8", errors="replace")
    assert child.returncode == 0, (
        f"{' '.join(command)} with {BASE_URL_ENV}={url}:\n{output}\n--- server ---\n{server_log}"
    )

    passed = re.search(r"(\d+) passed", output)
    assert passed, output
    assert int(passed[1]) > 0, output
    assert "test_live_server" not in output
    for route in ("POST /iadvize/graphql", "POST /iadvize/oauth2/token", "POST /_emulator/reset"):
        assert route in server_log, f"{route} never reached the live server"
