"""iAdvize state: registered configuration (projects, operators) apart from runtime state (visitors).

``reset()`` forgets runtime state only; projects and operators registered at run time stay.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from emulator.vendors.iadvize.config import IAdvizeSettings, Operator, Project

MAX_VUIDS = 100


@dataclass
class VisitorProfile:
    """One visitor profile: an authenticated userId of a project, or one anonymous visitor."""

    profile_id: str
    project_id: str
    external_user_id: str | None
    visitor_data: dict[str, str] = field(default_factory=dict)
    vuids: dict[str, None] = field(default_factory=dict)  # the most recent MAX_VUIDS, oldest first
    sessions: int = 0
    first_seen: float = 0.0
    last_seen: float = 0.0

    def saw(self, vuid: str, now: float) -> None:
        """Record a session for ``vuid``; keeps the most recent MAX_VUIDS visitor ids."""
        self.vuids.pop(vuid, None)
        self.vuids[vuid] = None
        if len(self.vuids) > MAX_VUIDS:
            del self.vuids[next(iter(self.vuids))]
        self.sessions += 1
        self.last_seen = now

    def view(self) -> dict[str, Any]:
        return {
            "visitorProfileId": self.profile_id,
            "projectId": self.project_id,
            "externalUserId": self.external_user_id,
            "authenticated": self.external_user_id is not None,
            **{k: self.visitor_data.get(k) for k in VISITOR_FIELDS},
            "vuids": list(self.vuids),
            "sessions": self.sessions,
            "firstSeen": self.first_seen,
            "lastSeen": self.last_seen,
        }


# [DOC] the GraphQL Visitor type's fields that visitorData fills.
VISITOR_FIELDS = ("firstName", "lastName", "email", "phoneNumber", "address", "city", "zipCode", "country")


class IAdvizeState:
    def __init__(self, settings: IAdvizeSettings) -> None:
        self.projects: dict[str, Project] = {p.project_id: p for p in settings.projects}
        self.operators: dict[str, Operator] = {o.username: o for o in settings.operators}
        self.profiles: dict[tuple[str, str], VisitorProfile] = {}  # (projectId, userId) -> profile
        self.anonymous: dict[tuple[str, str], VisitorProfile] = {}  # (projectId, vuid) -> profile

    def reset(self) -> None:
        self.profiles.clear()
        self.anonymous.clear()

    def authenticated_profile(self, project_id: str, user_id: str, now: float) -> VisitorProfile:
        """The same userId of a project always maps to the same profile, whatever the device."""
        return self._profile(self.profiles, (project_id, user_id), user_id, now)

    def anonymous_profile(self, project_id: str, vuid: str, now: float) -> VisitorProfile:
        return self._profile(self.anonymous, (project_id, vuid), None, now)

    @staticmethod
    def _profile(
        store: dict[tuple[str, str], VisitorProfile], key: tuple[str, str], user_id: str | None, now: float
    ) -> VisitorProfile:
        profile = store.get(key)
        if profile is None:
            profile = store[key] = VisitorProfile(str(uuid.uuid4()), key[0], user_id, first_seen=now)
        return profile

    def visitors(self, project_id: str | None = None) -> list[dict[str, Any]]:
        profiles = [*self.profiles.values(), *self.anonymous.values()]
        return [p.view() for p in profiles if project_id is None or p.project_id == project_id]
