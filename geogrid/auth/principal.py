"""Who is asking: roles, the principal of a request, and the scope of what it may write.

A principal is a logged-in user or an API key; both carry a role and, for the scoped roles,
what the role is limited to (issue 8, "Users and roles"):

- ``admin``: the district centre; reads and writes everything.
- ``street_operator``: reads everything, writes only the cases of its streets.
- ``supervisor``: reads everything, posts tracks and cases as its own supervisor id only.
- ``viewer``: reads only.
- ``tracker``: API keys of GPS terminals (sanitation vehicles, crews): posts its own fixes
  (``supervisor_id`` is its tracker id) and reads nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    """The roles; their rights are in :mod:`geogrid.auth.policy`."""

    admin = "admin"
    street_operator = "street_operator"
    supervisor = "supervisor"
    viewer = "viewer"
    tracker = "tracker"


@dataclass(frozen=True)
class Scope:
    """What a writer is limited to; ``None`` fields are unlimited.

    ``streets``: 9-digit street codes whose cases may be written (a case's current street).
    ``supervisor_id``: writes only as this supervisor (own fixes, new cases reported by a
    supervisor).
    """

    streets: frozenset[str] | None = None
    supervisor_id: str | None = None

    @property
    def unlimited(self) -> bool:
        return self.streets is None and self.supervisor_id is None


UNLIMITED = Scope()


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request (or command)."""

    kind: Literal["user", "api_key"]
    name: str
    role: Role
    streets: frozenset[str] = field(default_factory=frozenset)
    supervisor_id: str | None = None

    @property
    def actor(self) -> str:
        """How the audit trail names the caller: the username, or ``key:<name>``."""
        return self.name if self.kind == "user" else f"key:{self.name}"

    @property
    def scope(self) -> Scope:
        """The scope of the principal's writes (only meaningful where its role may write)."""
        if self.role is Role.street_operator:
            return Scope(streets=self.streets)
        if self.role in (Role.supervisor, Role.tracker):
            return Scope(supervisor_id=self.supervisor_id)
        return UNLIMITED
