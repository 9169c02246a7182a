"""Packaging without Docker: the Dockerfile and docker-compose.yml say what the README promises, and the wheel
they install carries the fixtures, which an installed copy finds without the source tree.

Building the wheel needs the build backend (hatchling): from this venv if installed, else pip fetches it. When it
cannot be obtained (offline), the wheel tests skip, except under CI=true where they fail.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.cli import CONFIG_ENV, build_parser
from emulator.config import FIXTURES_ENV

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
DOCKERIGNORE = ROOT / ".dockerignore"

ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - inside the container; Docker publishes the port
SERVE_CMD = ["chat-emulator", "serve", "--host", ALL_INTERFACES, "--port", "8080"]
HEALTHCHECK_CMD = ["chat-emulator", "healthcheck"]


# -- Dockerfile ------------------------------------------------------------------------------------------
def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments and blank lines dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, arguments = full.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    assert not pending, "the Dockerfile ends inside a continued instruction"
    return instructions


def healthcheck_parts(arguments: str) -> tuple[dict[str, str], list[str]]:
    """HEALTHCHECK [--opt=value ...] CMD ["exec", "form"] -> (options, command)."""
    options, _, command = arguments.partition("CMD")
    parsed = dict(re.findall(r"--([a-z-]+)=(\S+)", options))
    return parsed, json.loads(command)


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", duration)
    assert match, f"unexpected duration {duration!r}"
    return float(match[1]) * {"ms": 0.001, "s": 1, "m": 60}[match[2]]


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))


def only(instructions: list[tuple[str, str]], keyword: str) -> str:
    found = [arguments for name, arguments in instructions if name == keyword]
    assert len(found) == 1, f"expected one {keyword}, found {found}"
    return found[0]


def test_dockerfile_base_image_and_install(dockerfile: list[tuple[str, str]]) -> None:
    assert only(dockerfile, "FROM") == "python:3.11-slim"
    assert ("COPY", ". .") in dockerfile
    runs = [arguments for name, arguments in dockerfile if name == "RUN"]
    assert any(re.search(r"\bpip install --no-cache-dir \.(\s|$)", run) for run in runs), runs
    # The healthcheck needs no curl or wget, and the image installs neither.
    assert not re.search(r"\b(curl|wget)\b", " ".join(runs))


def test_dockerfile_runs_as_a_non_root_user(dockerfile: list[tuple[str, str]]) -> None:
    names = [name for name, _ in dockerfile]
    users = [arguments for name, arguments in dockerfile if name == "USER"]
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    # Set after the last RUN (which needs root), before the process starts.
    assert names.index("USER") > max(i for i, name in enumerate(names) if name == "RUN")
    assert names.index("USER") < names.index("CMD")
    # The user exists: the RUN that installs creates it with that uid (or name).
    creation = next(arguments for name, arguments in dockerfile if name == "RUN" and "useradd" in arguments)
    assert re.search(rf"--uid {user}\b", creation) or re.search(rf"\b{user}$", creation), creation


def test_dockerfile_command_port_and_healthcheck(dockerfile: list[tuple[str, str]]) -> None:
    assert only(dockerfile, "EXPOSE") == "8080"
    command = json.loads(only(dockerfile, "CMD"))
    assert command == SERVE_CMD
    # The CLI accepts these arguments and serves on the exposed port, on every interface of the container.
    serve = build_parser().parse_args(command[1:])
    assert (serve.host, serve.port) == (ALL_INTERFACES, 8080)

    options, probe = healthcheck_parts(only(dockerfile, "HEALTHCHECK"))
    assert probe == HEALTHCHECK_CMD
    health = build_parser().parse_args(probe[1:])
    # `chat-emulator healthcheck` with no --url probes the port the CMD serves on.
    assert health.url == "http://127.0.0.1:8080"
    assert {"interval", "timeout", "retries"} <= set(options)
    # Docker must not kill the probe before the CLI's own timeout makes it answer.
    assert seconds(options["timeout"]) > health.timeout
    assert int(options["retries"]) >= 1


def test_dockerignore_keeps_the_build_inputs_and_drops_the_rest() -> None:
    patterns = [
        line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines() if line.strip()[:1] not in "#"
    ]
    assert not any(p.startswith("!") for p in patterns), "negations: this test's matcher would need them"

    def ignored(path: str) -> bool:
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        for pattern in patterns:
            pattern = pattern.strip("/")
            for prefix in prefixes:
                if fnmatch.fnmatchcase(prefix, pattern):
                    return True
                if pattern.startswith("**/") and fnmatch.fnmatchcase(prefix.split("/")[-1], pattern[3:]):
                    return True
        return False

    needed = ["pyproject.toml", "README.md", "emulator/__init__.py", "emulator/vendors/iadvize/checks.py"]
    needed += [p.relative_to(ROOT).as_posix() for p in (ROOT / "fixtures").rglob("*") if p.is_file()]
    assert "fixtures/default.toml" in needed
    assert [p for p in needed if ignored(p)] == []
    for unwanted in (".venv/bin/python", ".git/HEAD", "emulator/__pycache__/cli.cpython-311.pyc", "tests/conftest.py"):
        assert ignored(unwanted), unwanted


# -- docker-compose.yml ----------------------------------------------------------------------------------
def _scalar(text: str) -> Any:
    if text.startswith("["):
        return json.loads(text)
    if text.startswith('"'):
        return json.loads(text)
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1]
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def parse_yaml_subset(text: str) -> Any:
    """The YAML that docker-compose.yml uses (PyYAML is not a dependency): block mappings, block sequences of
    scalars, flow sequences of double-quoted strings, comments. Anything else raises ValueError."""
    lines: list[tuple[int, str]] = []
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise ValueError(f"tab indentation: {raw!r}")
        content = re.sub(r"\s+#.*$", "", raw)
        lines.append((len(content) - len(content.lstrip()), content.strip()))

    def block(i: int, indent: int) -> tuple[Any, int]:
        if lines[i][1].startswith("- "):
            items = []
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                items.append(_scalar(lines[i][1][2:].strip()))
                i += 1
            return items, i
        mapping: dict[str, Any] = {}
        while i < len(lines) and lines[i][0] == indent:
            key, colon, rest = lines[i][1].partition(":")
            if not colon or key.startswith("- ") or key in mapping:
                raise ValueError(f"unsupported or duplicate line: {lines[i][1]!r}")
            rest = rest.strip()
            if rest:
                mapping[key] = _scalar(rest)
                i += 1
            elif i + 1 < len(lines) and lines[i + 1][0] > indent:
                mapping[key], i = block(i + 1, lines[i + 1][0])
            else:
                mapping[key] = None
                i += 1
        if i < len(lines) and lines[i][0] > indent:
            raise ValueError(f"unexpected indentation: {lines[i][1]!r}")
        return mapping, i

    value, end = block(0, lines[0][0])
    if end != len(lines):
        raise ValueError(f"unparsed line: {lines[end][1]!r}")
    return value


def load_yaml(text: str) -> Any:
    if importlib.util.find_spec("yaml") is not None:
        import yaml

        assert parse_yaml_subset(text) == yaml.safe_load(text)
    return parse_yaml_subset(text)


def uncomment_config_example(text: str) -> str:
    """docker-compose.yml with its commented `volumes:` / `environment:` example switched on."""
    return re.sub(r"^(\s*)# ((?:volumes|environment):\s*|  - .*)$", r"\1\2", text, flags=re.M)


def test_compose_service_ports_and_healthcheck(dockerfile: list[tuple[str, str]]) -> None:
    compose = load_yaml(COMPOSE.read_text(encoding="utf-8"))
    assert list(compose["services"]) == ["emulator"]
    service = compose["services"]["emulator"]
    assert service["build"] == "."
    assert service["ports"] == ["127.0.0.1:8080:8080"]  # the public TEST-ONLY fixtures stay on this machine
    assert "command" not in service, "the image's CMD is the documented command"
    health = service["healthcheck"]
    assert health["test"] == ["CMD", *HEALTHCHECK_CMD]
    # The same probe as the image's HEALTHCHECK.
    assert health["test"][1:] == healthcheck_parts(only(dockerfile, "HEALTHCHECK"))[1]
    assert {"interval", "timeout", "retries"} <= set(health)
    assert seconds(health["timeout"]) > build_parser().parse_args(["healthcheck"]).timeout
    assert isinstance(health["retries"], int)
    assert health["retries"] >= 1
    seconds(health["interval"])
    # Served as is, the default fixtures: no configuration mounted unless the user switches the example on.
    assert "volumes" not in service
    assert "environment" not in service


def test_compose_config_example_mounts_the_file_serve_reads() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert "#   - ./my-config.toml:/config/emulator.toml:ro" in text
    service = load_yaml(uncomment_config_example(text))["services"]["emulator"]
    assert service["volumes"] == ["./my-config.toml:/config/emulator.toml:ro"]
    assert service["environment"] == [f"{CONFIG_ENV}=/config/emulator.toml"]
    # What the container then runs: serve --config defaults to $CHAT_EMULATOR_CONFIG, read when the CLI starts.
    code = "from emulator.cli import build_parser; print(build_parser().parse_args(['serve']).config)"
    env = {**os.environ, CONFIG_ENV: "/config/emulator.toml"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "/config/emulator.toml"


def test_yaml_subset_parser_refuses_what_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        parse_yaml_subset("a: 1\na: 2\n")
    with pytest.raises(ValueError, match="indentation"):
        parse_yaml_subset("a:\n    b: 1\n  c: 2\n")
    with pytest.raises(ValueError, match="unparsed"):
        parse_yaml_subset("- a\nb: 1\n")
    assert parse_yaml_subset('a:\n  b: ["x", "y"]  # note\n  c:\n    - \'z\'\n') == {"a": {"b": ["x", "y"], "c": ["z"]}}


# -- the wheel -------------------------------------------------------------------------------------------
def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in (FIXTURES_ENV, CONFIG_ENV, "EMULATOR_BASE_URL", "PYTHONPATH", "PYTHONHOME"):
        env.pop(name, None)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    isolated = importlib.util.find_spec("hatchling") is None
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)]
    if isolated:  # pip installs hatchling into a throwaway build environment (from an index: may need network)
        command[4:4] = ["--retries", "1", "--timeout", "10"]
    else:
        command.insert(4, "--no-build-isolation")
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=_clean_env())
        output, failed = result.stdout + result.stderr, result.returncode != 0
    except subprocess.TimeoutExpired as exc:
        output, failed = f"timed out after {exc.timeout} s", True
    if failed:
        no_backend = isolated and (
            "install build dependencies" in output
            or "matching distribution found for hatchling" in output
            or output.startswith("timed out")  # an index that does not answer
        )
        if no_backend and os.environ.get("CI", "").lower() != "true":
            pytest.skip(f"the build backend (hatchling) cannot be obtained here: {output.strip()[-400:]}")
        pytest.fail(f"building the wheel failed:\n{' '.join(command)}\n{output}")
    wheels = list(out.glob("chat_auth_emulator-*.whl"))
    assert len(wheels) == 1, list(out.iterdir())
    return wheels[0]


def test_wheel_carries_the_fixtures(wheel: Path) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"] == {
        "fixtures": "emulator/_fixtures"
    }
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        # Every file of fixtures/, byte for byte, under emulator/_fixtures/.
        sources = [p for p in (ROOT / "fixtures").rglob("*") if p.is_file()]
        assert sources
        for source in sources:
            packaged = "emulator/_fixtures/" + source.relative_to(ROOT / "fixtures").as_posix()
            assert packaged in names, packaged
            assert archive.read(packaged) == source.read_bytes(), packaged
        default = tomllib.loads(archive.read("emulator/_fixtures/default.toml").decode("utf-8"))
        # The key files that default.toml names (relative to itself) are beside it.
        iadvize = default["iadvize"]
        liveassist = default["liveassist"]
        key_paths = [iadvize["emulatorKey"], default["avaya"]["signingKey"], liveassist["encryptionKey"]]
        key_paths += [liveassist["encryptionCertificate"]] + [c["jwtPublicKey"] for c in liveassist["connectors"]]
        key_paths += [k for p in iadvize["projects"] for k in p["brandPublicKeys"]]
        assert key_paths
        for key_path in key_paths:
            assert f"emulator/_fixtures/{key_path}" in names, key_path
        # The demo brand key `mint` signs with by default.
        assert "emulator/_fixtures/keys/iadvize-brand-demo.private.pem" in names
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert re.search(r"^chat-emulator\s*=\s*emulator\.cli:main$", archive.read(entry_points).decode(), re.M)
    assert not [n for n in names if n.startswith(("tests/", "bench/", "fixtures/", ".venv/")) or "__pycache__" in n]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with only the wheel installed; runtime dependencies come from this venv through a .pth (its
    editable install of the project is a .pth of its own, which Python does not follow from there)."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index"]
    result = subprocess.run([*install, str(wheel)], capture_output=True, text=True, timeout=120, env=_clean_env())
    assert result.returncode == 0, result.stdout + result.stderr
    paths_code = "import json, sysconfig; print(json.dumps(sysconfig.get_paths()))"
    target = json.loads(subprocess.check_output([python, "-c", paths_code], text=True, timeout=60))["purelib"]
    here = {p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()}
    (Path(target) / "_runtime_deps_from_test_venv.pth").write_text("\n".join(sorted(here)) + "\n", encoding="utf-8")
    yield venv


def test_installed_wheel_finds_its_packaged_fixtures(installed: Path, tmp_path: Path) -> None:
    python = installed / "bin" / "python"
    code = (
        "import json, emulator, emulator.config as c\n"
        "config = c.load_config()\n"
        "print(json.dumps({'module': emulator.__file__, 'fixtures': str(c.fixtures_dir()),"
        " 'sources': list(config.sources), 'vendors': sorted(config.vendors)}))\n"
    )
    # cwd outside the source tree, no CHAT_EMULATOR_FIXTURES: nothing points at ROOT.
    result = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=_clean_env(), timeout=60
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    site = Path(found["module"]).resolve().parent.parent
    assert site.name == "site-packages"
    assert site.is_relative_to(installed.resolve())
    assert Path(found["fixtures"]).resolve() == site / "emulator" / "_fixtures"
    assert [Path(s).resolve() for s in found["sources"]] == [site / "emulator" / "_fixtures" / "default.toml"]
    assert found["vendors"] == ["avaya", "dixa", "iadvize", "liveassist", "tiledesk"]
    assert not Path(found["fixtures"]).resolve().is_relative_to(ROOT)


def test_installed_console_script_mints_and_explains_with_packaged_keys(installed: Path, tmp_path: Path) -> None:
    script = installed / "bin" / "chat-emulator"
    assert script.is_file()
    run = {"capture_output": True, "text": True, "cwd": tmp_path, "env": _clean_env(), "timeout": 60}
    minted = subprocess.run([script, "mint", "iadvize", "--project", "7011", "--user-id", "alice"], **run)
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    assert token.count(".") == 4
    explained = subprocess.run([script, "explain", "iadvize", "--project", "7011", "-"], input=token, **run)
    assert explained.returncode == 0, explained.stdout + explained.stderr
    assert json.loads(explained.stdout)["ok"] is True
