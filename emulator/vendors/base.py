"""What a vendor plugs into the emulator: its routes, its tenants, its keys, explain and reset.

The application (``emulator.app``) mounts each vendor's routes under ``/<name>`` and under the vendor's real
host names, wraps them in the journal, and serves the generic control plane (``/_emulator/tenants/<name>/<id>``,
``/_emulator/keys/<name>``, ``/_emulator/explain``, ``/_emulator/reset``) through this interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable
from typing import Any, ClassVar

from starlette.routing import BaseRoute

from emulator.core.runtime import Runtime


class Vendor(ABC):
    name: ClassVar[str]
    hosts: ClassVar[tuple[str, ...]] = ()
    tenant_noun: ClassVar[str] = "tenant"

    def __init__(self, section: dict[str, Any], runtime: Runtime) -> None:
        self.runtime = runtime

    @abstractmethod
    def routes(self) -> list[BaseRoute]:
        """The vendor's own endpoints, relative to its prefix / host."""

    def control_routes(self) -> list[BaseRoute]:
        """Vendor-specific control-plane routes, mounted under /_emulator."""
        return []

    # Tenants: registered configuration, kept across resets.
    @abstractmethod
    def put_tenant(self, tenant_id: str, body: Any) -> tuple[dict[str, Any], bool]:
        """Validate and register (or replace) a tenant; returns its public view and whether it is new.
        Raises ConfigError on bad input, before changing anything."""

    @abstractmethod
    def get_tenant(self, tenant_id: str) -> dict[str, Any] | None:
        """The tenant's public view (never secrets or private keys), or None."""

    @abstractmethod
    def delete_tenant(self, tenant_id: str) -> bool: ...

    @abstractmethod
    def list_tenants(self) -> list[dict[str, Any]]: ...

    @abstractmethod
    def public_keys(self) -> dict[str, Any]:
        """The emulator's own public keys for this vendor."""

    @abstractmethod
    def explain(self, tenant_id: str, token: Any) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        """Run the verification checks on ``token`` for ``tenant_id`` with no side effects (may be async)."""

    @abstractmethod
    def reset(self) -> None:
        """Forget runtime state (sessions, visitors, ...); keep registered tenants."""
