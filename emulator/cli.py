"""chat-emulator: serve | healthcheck | mint | explain.

chat-emulator serve [--host 127.0.0.1] [--port 8080] [--config FILE]
chat-emulator healthcheck [--url http://127.0.0.1:8080]
chat-emulator mint iadvize --project ID --user-id U [--visitor-data JSON] [--ttl 60] [--server URL]
chat-emulator explain iadvize --project ID TOKEN|- [--server URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import os
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from emulator import __version__

T = TypeVar("T")

CONFIG_ENV = "CHAT_EMULATOR_CONFIG"


def _fail(message: str, code: int = 2) -> int:
    print(f"chat-emulator: {message}", file=sys.stderr)
    return code


def _client_tls() -> ssl.SSLContext:
    """The system's trust store plus the TEST-ONLY fixture certificate, so https://localhost from `serve --tls`
    is trusted without switching verification off."""
    from emulator.config import fixtures_dir

    context = ssl.create_default_context()
    fixture = fixtures_dir() / "tls" / "localhost.crt"
    if fixture.is_file():
        context.load_verify_locations(cafile=str(fixture))
    return context


class ServerError(Exception):
    """A running emulator answered with an HTTP error; the message is its own explanation."""


def _http_json(url: str, body: Any = None, timeout: float = 5.0) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=_client_tls()) as response:  # noqa: S310 - http(s) URL from the user
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read(4096).decode("utf-8", "replace")
        with contextlib.suppress(ValueError, AttributeError):
            detail = json.loads(detail).get("error", detail)
        raise ServerError(f"{url} answered {exc.code}: {detail}") from exc


def _check_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise SystemExit(_fail(f"--server/--url must be an http(s) URL, got {url!r}"))
    return url.rstrip("/")


# -- serve -----------------------------------------------------------------------------------------------
def _tls_files(args: argparse.Namespace) -> tuple[str, str] | None:
    """(cert, key) for HTTPS, or None for plain HTTP. Raises SystemExit(2) on a half or unreadable pair."""
    from emulator.config import fixtures_dir

    if bool(args.tls_cert) != bool(args.tls_key):
        raise SystemExit(_fail("--tls-cert and --tls-key go together"))
    if args.tls_cert:
        pair = (args.tls_cert, args.tls_key)
    elif args.tls:
        pair = (str(fixtures_dir() / "tls" / "localhost.crt"), str(fixtures_dir() / "tls" / "localhost.key"))
    else:
        return None
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(*pair)
    except (OSError, ssl.SSLError) as exc:
        raise SystemExit(_fail(f"cannot use the TLS certificate/key {pair}: {exc}")) from exc
    return pair


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from emulator.app import create_app
    from emulator.config import ConfigError

    tls = _tls_files(args)
    try:
        app = create_app(args.config)
    except ConfigError as exc:
        return _fail(f"configuration error: {exc}")
    sources = ", ".join(app.state.config.sources)
    scheme = "https" if tls else "http"
    print(
        f"chat-emulator {__version__}: vendors {sorted(app.state.vendors)}; config {sources}; "
        f"{scheme}://{args.host}:{args.port}" + (f" (certificate {tls[0]})" if tls else ""),
        file=sys.stderr,
    )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        proxy_headers=False,
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )
    return 0


# -- healthcheck -----------------------------------------------------------------------------------------
def cmd_healthcheck(args: argparse.Namespace) -> int:
    url = _check_url(args.url) + "/_emulator/health"
    try:
        body = _http_json(url, timeout=args.timeout)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return _fail(f"unhealthy: {url}: {exc}", 1)
    if not isinstance(body, dict) or body.get("status") != "ok":
        return _fail(f"unhealthy: {url} answered {body!r}", 1)
    print(f"ok: vendors {body.get('vendors')}")
    return 0


# -- mint ------------------------------------------------------------------------------------------------
def _vendor_settings(config_path: str | None, vendor: str, parse: Callable[[dict[str, Any]], T]) -> T:
    """A vendor's settings from a configuration file (or the embedded default), parsed by its own parser."""
    from emulator.config import ConfigError, load_config

    config = load_config(config_path)
    if vendor not in config.vendors:
        raise ConfigError(f"the configuration has no [{vendor}] section")
    return parse(config.vendors[vendor])


def _server_tenant(server: str, vendor: str, tenant: Any) -> dict[str, Any] | None:
    """A tenant's public view from a running emulator, or None when it is not registered there."""
    try:
        return _http_json(f"{server}/_emulator/tenants/{vendor}/{tenant}")
    except ServerError:
        return None


def cmd_mint_iadvize(args: argparse.Namespace) -> int:
    from emulator.config import ConfigError
    from emulator.core.keys import KeyFormatError
    from emulator.mint import as_key, iadvize_jwe

    visitor_data = None
    if args.visitor_data is not None:
        try:
            visitor_data = json.loads(args.visitor_data)
        except ValueError as exc:
            return _fail(f"--visitor-data is not JSON: {exc}")
        if not isinstance(visitor_data, dict):
            return _fail("--visitor-data must be a JSON object")
    now = args.now
    try:
        if args.server:
            if args.config:
                return _fail("give --config or --server, not both")
            server = _check_url(args.server)
            iadvize_key = as_key(_http_json(server + "/_emulator/keys/iadvize")["pem"])
            if now is None:
                now = _http_json(server + "/_emulator/clock")["now"]
            _mint_warnings(args, _server_tenant(server, "iadvize", args.project))
        else:
            from emulator.vendors.iadvize.config import IAdvizeSettings

            settings = _vendor_settings(args.config, "iadvize", IAdvizeSettings.from_section)
            iadvize_key = settings.emulator_key
            found = next((p for p in settings.projects if p.project_id == str(args.project)), None)
            _mint_warnings(args, found.public_view() if found else None)
        token = iadvize_jwe(
            args.user_id,
            visitor_data=visitor_data,
            ttl=args.ttl,
            now=now,
            issuer=args.issuer,
            brand_key=args.brand_key,
            iadvize_key=iadvize_key,
        )
    except (ConfigError, KeyFormatError, ServerError, OSError, KeyError, ValueError) as exc:
        return _fail(str(exc))
    print(token)
    return 0


def _mint_warnings(args: argparse.Namespace, project: dict[str, Any] | None) -> None:
    """Warn (stderr) when the emulator will refuse what is about to be minted."""
    if project is None:
        print(f"warning: project {args.project} is not registered: the emulator will refuse the token", file=sys.stderr)
        return
    if not project.get("authenticationEnabled", True):
        print(f"warning: project {args.project} has authenticated mode off", file=sys.stderr)
    limit = project["tokenMaxAge"] + project["clockSkew"]
    if args.ttl > limit:
        print(
            f"warning: --ttl {args.ttl} is over project {args.project}'s tokenMaxAge ({project['tokenMaxAge']:g} s) "
            f"plus its clock skew ({project['clockSkew']:g} s): the emulator will refuse the token",
            file=sys.stderr,
        )


def cmd_mint_liveassist(args: argparse.Namespace) -> int:
    from emulator.config import ConfigError
    from emulator.core.keys import Key, KeyFormatError
    from emulator.mint import as_key, liveassist_id_token

    try:
        claims = json.loads(args.claims) if args.claims else {}
    except ValueError as exc:
        return _fail(f"--claims is not JSON: {exc}")
    if not isinstance(claims, dict):
        return _fail("--claims must be a JSON object")
    now = args.now
    try:
        if args.server:
            if args.config:
                return _fail("give --config or --server, not both")
            server = _check_url(args.server)
            keys = _http_json(server + "/_emulator/keys/liveassist")
            target = Key(kid=keys["kid"], public=as_key(keys["pem"]).public)
            if now is None:
                now = _http_json(server + "/_emulator/clock")["now"]
            connector = _server_tenant(server, "liveassist", args.account)
        else:
            from emulator.vendors.liveassist.config import LiveAssistSettings

            settings = _vendor_settings(args.config, "liveassist", LiveAssistSettings.from_section)
            target = Key(kid=settings.encryption_key.kid, public=settings.encryption_key.public)
            found = next((c for c in settings.connectors if c.account_id == args.account), None)
            connector = found.public_view() if found else None
        issuer = args.issuer or (connector["issuer"] if connector else "https://brand.example")
        if connector is None:
            print(
                f"warning: account {args.account} has no connector: the emulator will refuse the token", file=sys.stderr
            )
        elif connector["flow"] == "code":
            print(
                f"warning: account {args.account}'s connector uses the code flow (the brand returns this id_token)",
                file=sys.stderr,
            )
        token = liveassist_id_token(
            args.sub,
            issuer=issuer,
            claims=claims,
            ttl=args.ttl,
            now=now,
            encrypt=args.encrypt,
            brand_key=args.brand_key,
            liveassist_key=target,
        )
    except (ConfigError, KeyFormatError, ServerError, OSError, KeyError, ValueError) as exc:
        return _fail(str(exc))
    print(token)
    return 0


def cmd_mint_tiledesk(args: argparse.Namespace) -> int:
    from emulator.config import ConfigError
    from emulator.mint import tiledesk_token
    from emulator.vendors.tiledesk.config import TiledeskSettings

    try:
        secret, profile = args.secret, args.profile
        if secret is None or profile is None:
            settings = _vendor_settings(args.config, "tiledesk", TiledeskSettings.from_section)
            project = next((p for p in settings.projects if p.project_id == args.project), None)
            if project is None:
                return _fail(f"project {args.project} is not in the configuration: give --secret and --profile")
            secret = secret or project.jwt_secret
            profile = profile or project.profile
            if secret is None:
                return _fail(
                    f"project {args.project} has no jwtSecret in the configuration: give --secret (keys/generate shows it)"
                )
        token = tiledesk_token(
            args.user_id,
            project_id=args.project,
            secret=secret,
            profile=profile,
            name=args.name,
            email=args.email,
            ttl=args.ttl,
            now=args.now,
        )
    except (ConfigError, ValueError) as exc:
        return _fail(str(exc))
    print(token)
    return 0


def cmd_mint_dixa(args: argparse.Namespace) -> int:
    from emulator.config import ConfigError
    from emulator.mint import dixa_jwe
    from emulator.vendors.dixa.config import DixaSettings, decode_key

    try:
        if args.key is not None:
            key = decode_key(args.key, "--key")
        else:
            settings = _vendor_settings(args.config, "dixa", DixaSettings.from_section)
            messenger = next((m for m in settings.messengers if m.token == args.messenger), None)
            if messenger is None:
                return _fail(f"messenger {args.messenger} is not in the configuration: give --key")
            key = next(iter(messenger.keys.values()))
        token = dixa_jwe(args.email, args.name, key=key, external_id=args.external_id, now=args.now)
    except (ConfigError, ValueError) as exc:
        return _fail(str(exc))
    print(token)
    return 0


# -- explain ---------------------------------------------------------------------------------------------
def cmd_explain(args: argparse.Namespace) -> int:
    token = sys.stdin.read().strip() if args.token == "-" else args.token  # noqa: S105 - "-" means stdin
    body = {"vendor": args.vendor, "tenant": str(args.project), "token": token}
    try:
        if args.server:
            report = _http_json(_check_url(args.server) + "/_emulator/explain", body)
        else:
            from emulator.app import create_app
            from emulator.config import ConfigError

            try:
                app = create_app(args.config)
            except ConfigError as exc:
                return _fail(f"configuration error: {exc}")
            vendor = app.state.vendors.get(args.vendor)
            if vendor is None:
                return _fail(f"vendor {args.vendor!r} is not configured")
            found = vendor.explain(str(args.project), token)
            if inspect.iscoroutine(found):  # Live Assist's checks may call the brand's JWKS
                found = asyncio.run(found)
            report = {"vendor": args.vendor, "tenant": str(args.project), **found}
    except (ServerError, OSError, ValueError) as exc:
        return _fail(str(exc))
    print(json.dumps(report, indent=2, default=str))
    return 0 if report.get("ok") else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chat-emulator", description="Local emulator of chat vendors' visitor auth.")
    parser.add_argument("--version", action="version", version=f"chat-emulator {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the emulator (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--config", default=os.environ.get(CONFIG_ENV), help=f"TOML file (or ${CONFIG_ENV})")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument(
        "--tls", action="store_true", help="serve HTTPS with the TEST-ONLY fixture certificate (localhost)"
    )
    serve.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM) ...")
    serve.add_argument("--tls-key", help="... and this private key (PEM)")
    serve.set_defaults(func=cmd_serve)

    health = sub.add_parser("healthcheck", help="exit 0 if a running emulator answers /_emulator/health")
    health.add_argument("--url", default="http://127.0.0.1:8080")
    health.add_argument("--timeout", type=float, default=3.0)
    health.set_defaults(func=cmd_healthcheck)

    mint = sub.add_parser("mint", help="mint a brand token with the TEST-ONLY fixture keys")
    mint_sub = mint.add_subparsers(dest="vendor", required=True)
    iadvize = mint_sub.add_parser("iadvize", help="a brand JWE for iAdvize (RS256 JWS inside RSA-OAEP-256/A256GCM)")
    iadvize.add_argument("--project", required=True, help="projectId (checked against the configuration)")
    iadvize.add_argument("--user-id", required=True, help="the https://iadvize.com/userId claim")
    iadvize.add_argument("--visitor-data", help='JSON object, e.g. \'{"firstName": "Jane"}\'')
    iadvize.add_argument("--ttl", type=int, default=60, help="seconds until exp (default 60)")
    iadvize.add_argument("--issuer", help="an iss claim (only checked if the project configures one)")
    iadvize.add_argument("--brand-key", help="the brand's private key (default: the fixture demo brand key)")
    iadvize.add_argument("--config", default=os.environ.get(CONFIG_ENV), help="take the emulator key from this config")
    iadvize.add_argument("--server", help="take the emulator key and clock from a running emulator (URL)")
    iadvize.add_argument("--now", type=float, help="issue time in epoch seconds (default: now / the server's clock)")
    iadvize.set_defaults(func=cmd_mint_iadvize)
    liveassist = mint_sub.add_parser("liveassist", help="a brand id_token for Live Assist (RS256, optionally a JWE)")
    liveassist.add_argument("--account", required=True, help="accountId (its connector gives the issuer)")
    liveassist.add_argument("--sub", required=True, help="the consumer's id (sub)")
    liveassist.add_argument("--claims", help='more claims as JSON, e.g. \'{"given_name": "Jane", "lp_sdes": [...]}\'')
    liveassist.add_argument("--ttl", type=int, default=3600, help="seconds until exp (default 3600)")
    liveassist.add_argument("--issuer", help="iss (default: the account's connector issuer)")
    liveassist.add_argument("--encrypt", action="store_true", help="encrypt to the emulator's key (JWE)")
    liveassist.add_argument("--brand-key", help="the brand's private key (default: the fixture demo brand key)")
    liveassist.add_argument("--config", default=os.environ.get(CONFIG_ENV), help="take the connector from this config")
    liveassist.add_argument("--server", help="take the connector, key and clock from a running emulator (URL)")
    liveassist.add_argument("--now", type=float, help="issue time in epoch seconds")
    liveassist.set_defaults(func=cmd_mint_liveassist)
    tiledesk = mint_sub.add_parser("tiledesk", help='a Tiledesk custom token, printed as "JWT <token>"')
    tiledesk.add_argument("--project", required=True, help="projectId (24 hex)")
    tiledesk.add_argument(
        "--user-id", required=True, help="the user's id (_id, or external_id for the documented profile)"
    )
    tiledesk.add_argument("--profile", choices=["server", "documented"], help="payload shape (default: the project's)")
    tiledesk.add_argument("--name", default="Jane Doe")
    tiledesk.add_argument("--email", default="jane.doe@example.com")
    tiledesk.add_argument(
        "--ttl", type=int, default=600, help="seconds until exp (default 600, the documented maximum)"
    )
    tiledesk.add_argument("--secret", help="the project's shared secret (default: the configuration's)")
    tiledesk.add_argument("--config", default=os.environ.get(CONFIG_ENV))
    tiledesk.add_argument("--now", type=float, help="issue time in epoch seconds")
    tiledesk.set_defaults(func=cmd_mint_tiledesk)
    dixa = mint_sub.add_parser("dixa", help="a Dixa verified-identity JWE (alg dir, enc A256CBC-HS512)")
    dixa.add_argument(
        "--messenger", default="36ec56fce8394e9dbc347d025a621bc5", help="messengerToken (its key is used)"
    )
    dixa.add_argument("--email", required=True)
    dixa.add_argument("--name", required=True)
    dixa.add_argument("--external-id")
    dixa.add_argument(
        "--key", help="the base64url 64-byte key (default: the messenger's first key in the configuration)"
    )
    dixa.add_argument("--config", default=os.environ.get(CONFIG_ENV))
    dixa.add_argument("--now", type=float, help="iat in epoch seconds")
    dixa.set_defaults(func=cmd_mint_dixa)

    explain = sub.add_parser("explain", help="run a vendor's checks on a token and print the trace")
    explain.add_argument("vendor", choices=["iadvize", "avaya", "liveassist", "tiledesk", "dixa"])
    explain.add_argument("token", help="the token, or - to read it from stdin")
    explain.add_argument(
        "--tenant",
        "--project",
        "--account",
        dest="project",
        required=True,
        help="the tenant: iAdvize/Tiledesk projectId, Avaya/Live Assist accountId, Dixa messengerToken",
    )
    explain.add_argument("--config", default=os.environ.get(CONFIG_ENV))
    explain.add_argument("--server", help="ask a running emulator instead of loading the configuration here")
    explain.set_defaults(func=cmd_explain)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
