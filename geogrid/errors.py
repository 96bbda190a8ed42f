"""The one domain error type of geogrid, and its specialisations.

Validation collects every problem it finds and raises them together; the API turns a
``GeogridError`` into a 4xx JSON body of one shape (see ``api/errors.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, which rule it breaks, a sentence."""

    where: str
    rule: str
    message: str
    location: tuple[float, float] | None = None
    severity: str = "error"

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class GeogridError(Exception):
    """Base of every error geogrid raises on purpose; ``message`` is a sentence for a user."""

    message: str
    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


class NotFound(GeogridError):
    """The thing asked for does not exist."""


class InvalidParameter(GeogridError):
    """A request parameter is malformed or out of range."""


class ValidationFailed(GeogridError):
    """An input (file, body) breaks one or more rules; ``problems`` lists them all."""


class CRSMismatch(GeogridError):
    """Coordinates are in a reference system geogrid cannot use as given."""


class Conflict(GeogridError):
    """The request clashes with what is stored (a duplicate id, a record in use)."""


class TooLarge(GeogridError):
    """An upload or request body is larger than the installation allows."""


class StalePlan(GeogridError):
    """An update plan was computed against a version that is no longer current."""


class Unauthorized(GeogridError):
    """No credentials, or credentials that are not valid (unknown, expired, revoked)."""


class Forbidden(GeogridError):
    """Valid credentials whose role or scope does not allow the request."""


class DatabaseUnavailable(GeogridError):
    """The database cannot be reached or did not answer in time."""


class ClusterError(GeogridError):
    """The embedded PostgreSQL cluster could not be set up, started or stopped."""
