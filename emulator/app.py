"""create_app(config) -> Starlette: the table of contents of the emulator.

/_emulator/...            the control plane (emulator-only)
/<vendor>/...             each configured vendor, under its prefix (one port serves every vendor)
Host: <vendor host>       the same vendor app on the vendor's real host name (e.g. api.iadvize.com),
                          for tests that route the real host to the emulator and keep their paths
"""

from __future__ import annotations

import os
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Host, Mount, Router

from emulator.config import Config, ConfigError, load_config
from emulator.control.routes import EXCEPTION_HANDLERS, ControlPlane
from emulator.core.journal import JournalMiddleware
from emulator.core.origin import SameOriginOnly, vendor_cors
from emulator.core.runtime import Runtime
from emulator.vendors import REGISTRY, vendor_class
from emulator.vendors.base import Vendor


def build_vendors(config: Config, runtime: Runtime) -> dict[str, Vendor]:
    unknown = sorted(set(config.vendors) - set(REGISTRY))
    if unknown:
        raise ConfigError(f"unknown vendor section(s) {unknown}; known vendors: {sorted(REGISTRY)}")
    return {name: vendor_class(name)(section, runtime) for name, section in config.vendors.items()}


def create_app(config: Config | str | os.PathLike[str] | None = None) -> Starlette:
    """The emulator as an ASGI app. ``config``: a Config, a TOML path, or None for the embedded defaults."""
    if not isinstance(config, Config):
        config = load_config(config)
    runtime = Runtime.from_settings(config.emulator)
    vendors = build_vendors(config, runtime)
    control = Starlette(routes=ControlPlane(runtime, vendors).routes(), exception_handlers=EXCEPTION_HANDLERS)

    routes: list[BaseRoute] = [Mount("/_emulator", app=SameOriginOnly(control))]
    for vendor in vendors.values():
        vendor_app: Any = vendor_cors(JournalMiddleware(Router(routes=vendor.routes()), runtime.journal, vendor.name))
        routes.extend(Host(host, app=vendor_app) for host in vendor.hosts)
        routes.append(Mount(f"/{vendor.name}", app=vendor_app))

    app = Starlette(routes=routes)
    app.state.config = config
    app.state.runtime = runtime
    app.state.vendors = vendors
    return app
