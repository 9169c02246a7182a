"""Tiledesk configuration: the global secret, and projects with their profile, admins and shared secret.

The same parser reads ``[[tiledesk.projects]]`` in a config file and the JSON body of
``PUT /_emulator/tenants/tiledesk/<projectId>``. A project registered at run time has no shared secret until
``POST /<projectId>/keys/generate``; a config file may give one (``jwtSecret``) so that tokens can be minted
offline against the defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from emulator.config import ConfigError, SecretHash, require_known, tenant_tables

PROJECT_ID = re.compile(r"[0-9a-f]{24}")  # a MongoDB ObjectId
PROFILES = ("documented", "server")
_PROJECT_FIELDS = {"projectId", "profile", "admins", "jwtSecret"}
_SETTINGS_FIELDS = {"globalSecret", "chat21Secret", "projects"}


@dataclass(frozen=True)
class Admin:
    """A project administrator (HTTP Basic on keys/generate). Only a salted hash of the password is kept."""

    username: str
    password: SecretHash = field(repr=False)

    @classmethod
    def create(cls, username: Any, password: Any, where: str) -> Admin:
        if not isinstance(username, str) or not username or ":" in username or len(username) > 254:
            raise ConfigError(f"{where}.username: a non-empty string without ':' is required")
        if not isinstance(password, str) or not password:
            raise ConfigError(f"{where}.password: a non-empty string is required")
        return cls(username, SecretHash.of(password))

    def check(self, password: str) -> bool:
        return self.password.matches(password)


@dataclass(frozen=True)
class ProjectSettings:
    project_id: str
    profile: str
    admins: tuple[Admin, ...]
    jwt_secret: str | None  # only from a config file; otherwise generated at run time

    @classmethod
    def from_json(cls, project_id: Any, body: Any, *, allow_secret: bool) -> ProjectSettings:
        if not isinstance(project_id, str) or not PROJECT_ID.fullmatch(project_id):
            raise ConfigError(f"projectId: 24 lower-case hex characters (an ObjectId) are required, got {project_id!r}")
        if not isinstance(body, dict):
            raise ConfigError("the project must be a JSON object")
        require_known(body, _PROJECT_FIELDS if allow_secret else _PROJECT_FIELDS - {"jwtSecret"})
        if "projectId" in body and body["projectId"] != project_id:
            raise ConfigError(f"projectId in the body ({body['projectId']!r}) differs from the one in the path")
        profile = body.get("profile", "documented")
        if profile not in PROFILES:
            raise ConfigError(f'profile: "documented" (default) or "server", got {profile!r}')
        admins_in = body.get("admins", [])
        if not isinstance(admins_in, list):
            raise ConfigError("admins: a list of {username, password} is required")
        admins = []
        for i, item in enumerate(admins_in):
            if not isinstance(item, dict) or set(item) - {"username", "password"}:
                raise ConfigError(f"admins[{i}]: an object {{username, password}} is required")
            admins.append(Admin.create(item.get("username"), item.get("password"), f"admins[{i}]"))
        if len({a.username for a in admins}) != len(admins):
            raise ConfigError("admins: a username is listed twice")
        secret = body.get("jwtSecret")
        if secret is not None and (not isinstance(secret, str) or len(secret) < 8):
            raise ConfigError("jwtSecret: a string of at least 8 characters")
        return cls(project_id, profile, tuple(admins), secret)


@dataclass(frozen=True)
class TiledeskSettings:
    global_secret: str
    chat21_secret: str
    projects: tuple[ProjectSettings, ...]

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> TiledeskSettings:
        require_known(section, _SETTINGS_FIELDS, "[tiledesk]")
        global_secret = section.get("globalSecret")
        if not isinstance(global_secret, str) or len(global_secret) < 8:
            raise ConfigError(
                "[tiledesk] globalSecret: the server's GLOBAL_SECRET (a string of 8+ characters) is required"
            )
        chat21 = section.get("chat21Secret", "tokenKey")  # [CODE] CHAT21_JWT_SECRET's default
        if not isinstance(chat21, str) or not chat21:
            raise ConfigError("[tiledesk] chat21Secret: a non-empty string")
        projects = tenant_tables(
            section,
            "tiledesk",
            "projects",
            lambda raw: ProjectSettings.from_json(raw.get("projectId"), raw, allow_secret=True),
            lambda p: p.project_id,
        )
        return cls(global_secret, chat21, projects)
