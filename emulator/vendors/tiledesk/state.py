"""Tiledesk state. Registered: projects, their admins and their current shared secret (a generated secret is
what the brand copied into its backend, so it survives a reset). Runtime: project users created by sign-ins."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.vendors.tiledesk.config import ProjectSettings, TiledeskSettings


@dataclass(frozen=True)
class OldSecret:
    """A replaced secret, kept only to tell a brand that its token was signed before a rotation."""

    secret: str = field(repr=False)
    generated_at: float | None
    replaced_at: float


@dataclass
class Project:
    settings: ProjectSettings
    jwt_secret: str | None
    secret_generated_at: float | None = None
    rotations: int = 0
    previous_secrets: list[OldSecret] = field(default_factory=list)

    def rotate(self, secret: str, now: float) -> None:
        if self.jwt_secret is not None:
            self.previous_secrets.append(OldSecret(self.jwt_secret, self.secret_generated_at, now))
            del self.previous_secrets[:-10]
            self.rotations += 1
        self.jwt_secret, self.secret_generated_at = secret, now

    @property
    def project_id(self) -> str:
        return self.settings.project_id

    @property
    def profile(self) -> str:
        return self.settings.profile

    def view(self) -> dict[str, Any]:
        return {
            "projectId": self.project_id,
            "profile": self.profile,
            "admins": [a.username for a in self.settings.admins],
            "hasSecret": self.jwt_secret is not None,
            "secretGeneratedAt": self.secret_generated_at,
            "rotations": self.rotations,
        }


@dataclass
class ProjectUser:
    """Project_user: created on a visitor's first sign-in (role 'user', status 'active')."""

    id_project: str
    uuid_user: str
    role: str = "user"
    status: str = "active"
    created_at: float = 0.0
    signins: int = 0
    user: dict[str, Any] = field(default_factory=dict)


class TiledeskState:
    def __init__(self, settings: TiledeskSettings) -> None:
        self.projects: dict[str, Project] = {p.project_id: Project(p, p.jwt_secret) for p in settings.projects}
        self.project_users: dict[tuple[str, str], ProjectUser] = {}

    def reset(self) -> None:
        self.project_users.clear()
