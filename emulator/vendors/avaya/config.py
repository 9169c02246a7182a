"""Avaya configuration: the emulator's chat-JWT signing key, timings, and accounts.

The same parser reads ``[avaya]`` / ``[[avaya.accounts]]`` in a config file and the JSON body of
``PUT /_emulator/tenants/avaya/<accountId>``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from emulator.config import ConfigError, SecretHash, emulator_rsa_key, require_known, seconds, tenant_tables
from emulator.core.keys import Key

ACCOUNT_ID = re.compile(r"^[a-zA-Z]{6}$")  # [S1][S2]
UUID = re.compile(r"^[0-9a-fA-F]{8}\-[0-9a-fA-F]{4}\-[0-9a-fA-F]{4}\-[0-9a-fA-F]{4}\-[0-9a-fA-F]{12}$")  # [S1]
DEFAULT_ISSUER = "https://cc.avayacloud.com"  # [S1] the documented token's iss
_ACCOUNT_FIELDS = {"accountId", "appkey", "clients", "integrations"}
_SETTINGS_FIELDS = {
    "signingKey",
    "issuer",
    "accessTokenLifetime",
    "refreshTokenLifetime",
    "clockSkew",
    "longPollSeconds",
    "echoDelaySeconds",
    "agentName",
    "accounts",
}


@dataclass(frozen=True)
class Client:
    """An API client of an account. Only a salted hash of its secret is kept."""

    client_id: str
    secret: SecretHash = field(repr=False)

    @classmethod
    def create(cls, client_id: Any, secret: Any, where: str) -> Client:
        if not isinstance(client_id, str) or not client_id or len(client_id) > 256:
            raise ConfigError(f"{where}.clientId: a non-empty string is required")
        if not isinstance(secret, str) or not secret:
            raise ConfigError(f"{where}.clientSecret: a non-empty string is required")
        return cls(client_id, SecretHash.of(secret))

    def check(self, secret: str) -> bool:
        return self.secret.matches(secret)


@dataclass(frozen=True)
class Account:
    account_id: str
    appkey: str
    clients: dict[str, Client]
    integrations: dict[str, str]  # integrationId (lower case) -> name

    @classmethod
    def from_json(cls, account_id: Any, body: Any) -> Account:
        if not isinstance(account_id, str) or not ACCOUNT_ID.fullmatch(account_id):
            raise ConfigError(f"accountId: 6 letters (^[a-zA-Z]{{6}}$) are required, got {account_id!r}")
        if not isinstance(body, dict):
            raise ConfigError("the account must be a JSON object")
        require_known(body, _ACCOUNT_FIELDS)
        if "accountId" in body and body["accountId"] != account_id:
            raise ConfigError(f"accountId in the body ({body['accountId']!r}) differs from the one in the path")
        appkey = body.get("appkey")
        if not isinstance(appkey, str) or not appkey.strip() or len(appkey) > 512:
            raise ConfigError("appkey: a non-empty string is required")
        clients_in = body.get("clients", [])
        if not isinstance(clients_in, list):
            raise ConfigError("clients: a list of {clientId, clientSecret} is required")
        clients: dict[str, Client] = {}
        for i, item in enumerate(clients_in):
            where = f"clients[{i}]"
            if not isinstance(item, dict) or set(item) - {"clientId", "clientSecret"}:
                raise ConfigError(f"{where}: an object {{clientId, clientSecret}} is required")
            client = Client.create(item.get("clientId"), item.get("clientSecret"), where)
            if client.client_id in clients:
                raise ConfigError(f"{where}.clientId: {client.client_id!r} is listed twice")
            clients[client.client_id] = client
        return cls(account_id, appkey, clients, _integrations(body.get("integrations", [])))

    def public_view(self) -> dict[str, Any]:
        return {
            "accountId": self.account_id,
            "appkey": self.appkey,
            "clients": [{"clientId": c} for c in self.clients],
            "integrations": [{"integrationId": i, "name": n} for i, n in self.integrations.items()],
        }

    def with_integration(self, name: str) -> tuple[Account, str]:
        integration_id = str(uuid.uuid4())
        return Account(
            self.account_id, self.appkey, self.clients, {**self.integrations, integration_id: name}
        ), integration_id


def _integrations(value: Any) -> dict[str, str]:
    if not isinstance(value, list):
        raise ConfigError("integrations: a list of integration ids (UUIDs) is required")
    integrations: dict[str, str] = {}
    for i, item in enumerate(value):
        if isinstance(item, dict):
            if set(item) - {"integrationId", "name"}:
                raise ConfigError(f"integrations[{i}]: an id string or {{integrationId, name}}")
            integration_id, name = item.get("integrationId"), item.get("name", "")
        else:
            integration_id, name = item, ""
        if not isinstance(integration_id, str) or not UUID.fullmatch(integration_id):
            raise ConfigError(f"integrations[{i}]: a UUID is required, got {integration_id!r}")
        if not isinstance(name, str) or len(name) > 256:
            raise ConfigError(f"integrations[{i}].name: a string of at most 256 characters")
        integrations[integration_id.lower()] = name
    return integrations


def parse_integration_name(body: Any) -> str:
    if not isinstance(body, dict) or set(body) - {"name"}:
        raise ConfigError('the body must be {"name": "..."}')
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        raise ConfigError("name: a non-empty string of at most 256 characters is required")
    return name


@dataclass(frozen=True)
class AvayaSettings:
    signing_key: Key
    issuer: str
    access_token_lifetime: float
    refresh_token_lifetime: float
    clock_skew: float
    long_poll_seconds: float
    echo_delay_seconds: float
    agent_name: str
    accounts: tuple[Account, ...]

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> AvayaSettings:
        require_known(section, _SETTINGS_FIELDS, "[avaya]")
        key = emulator_rsa_key(section.get("signingKey"), "[avaya] signingKey")
        issuer = section.get("issuer", DEFAULT_ISSUER)
        if not isinstance(issuer, str) or not issuer:
            raise ConfigError("[avaya] issuer: a non-empty string")
        agent = section.get("agentName", "Echo Agent")
        if not isinstance(agent, str) or not agent or len(agent) > 70:
            raise ConfigError("[avaya] agentName: a non-empty string of at most 70 characters")
        accounts = tenant_tables(
            section,
            "avaya",
            "accounts",
            lambda raw: Account.from_json(raw.get("accountId"), raw),
            lambda a: a.account_id,
        )
        return cls(
            signing_key=key,
            issuer=issuer,
            access_token_lifetime=seconds(section, "accessTokenLifetime", 900, 1, 86400, "[avaya]"),
            refresh_token_lifetime=seconds(section, "refreshTokenLifetime", 1800, 1, 30 * 86400, "[avaya]"),
            clock_skew=seconds(section, "clockSkew", 0, 0, 3600, "[avaya]"),
            long_poll_seconds=seconds(section, "longPollSeconds", 20, 0, 35, "[avaya]"),
            echo_delay_seconds=seconds(section, "echoDelaySeconds", 1, 0, 30, "[avaya]"),
            agent_name=agent,
            accounts=accounts,
        )
