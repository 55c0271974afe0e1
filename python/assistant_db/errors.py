"""The exceptions assistant_db raises: one class per variant of the library's ``Error``.

Every exception derives from :class:`AssistantDbError` and carries:

- ``field`` and ``rule``: which value broke which rule, where the error is about one
  (``interactions[3].confidence_score`` / ``must be between 0 and 1 (got 42)``), else
  ``None``;
- ``retryable``: whether the same call may succeed later (the database was unreachable).

Catch :class:`ValidationError` for bad input (nothing was written), and
:class:`UnavailableError` for outages worth a retry. Messages never hold secrets or
customer text.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = [
    "AssistantDbError",
    "ValidationError",
    "ConfigError",
    "CheckViolationError",
    "ForeignKeyError",
    "DuplicateError",
    "NotNullError",
    "PermissionDeniedError",
    "AuthError",
    "UnavailableError",
    "DatabaseError",
    "SpoolError",
    "SpoolFullError",
    "MigrationError",
    "LocalDatabaseError",
    "FilesystemError",
]


class AssistantDbError(Exception):
    """Base class of every error raised by assistant_db."""

    message: str
    """The error, in words."""
    field: Optional[str]
    """The field (or JSON path) at fault, when the error is about one value."""
    rule: Optional[str]
    """The rule the field broke, in words, when the error is about one value."""
    retryable: bool
    """True when the same call may succeed later."""

    def __init__(
        self,
        message: str,
        *,
        field: Optional[str] = None,
        rule: Optional[str] = None,
        retryable: bool = False,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.rule = rule
        self.retryable = retryable
        for name, value in details.items():
            setattr(self, name, value)

    def __reduce__(self) -> Any:
        # Keeps the attributes through pickling (multiprocessing, concurrent.futures).
        return (self.__class__, (self.message,), self.__dict__)


class ValidationError(AssistantDbError, ValueError):
    """A record or argument broke a rule; nothing was written.

    ``field`` names the column or JSON path (``citations[1].source``,
    ``interactions[3].confidence_score``) and ``rule`` what it must satisfy.
    """

    field: str
    rule: str


class ConfigError(AssistantDbError):
    """The configuration (``DATABASE_URL``, ``SUPABASE_URL``, ``SUPABASE_KEY``, …) is
    missing or inconsistent."""


class CheckViolationError(AssistantDbError):
    """The database refused a value through a CHECK constraint.

    ``field`` is the column, ``table`` and ``constraint`` name the constraint.
    """

    table: str
    constraint: str


class ForeignKeyError(AssistantDbError):
    """A foreign key names a row that does not exist (an escalation of an unknown
    interaction). ``field`` is the key's column when PostgreSQL names it."""

    constraint: str
    detail: str


class DuplicateError(AssistantDbError):
    """A unique key already holds the value (a knowledge document's ``openai_file_id``)."""

    constraint: str
    detail: str


class NotNullError(AssistantDbError):
    """A required column was left empty; ``field`` names it."""

    table: str


class PermissionDeniedError(AssistantDbError):
    """The key or role in use may not do this; the message says which key it needs."""


class AuthError(AssistantDbError):
    """The API refused the key itself: unknown, tampered with or expired."""


class UnavailableError(AssistantDbError):
    """The database cannot be reached right now; the same call may succeed later."""


class DatabaseError(AssistantDbError):
    """Any other error reported by the database; ``code`` is its SQLSTATE when known."""

    code: Optional[str]


class SpoolError(AssistantDbError):
    """The logger's local spool could not be read or written (a full disk, an I/O
    error); what it had accepted before stays on disk."""


class SpoolFullError(AssistantDbError):
    """The logger's spool reached its limit; the record was not taken."""


class MigrationError(AssistantDbError):
    """A migration could not be applied, or an applied one no longer matches its file."""


class LocalDatabaseError(AssistantDbError):
    """The embedded PostgreSQL could not be set up, started or stopped."""


class FilesystemError(AssistantDbError):
    """A file or directory could not be used; ``context`` says what was being done."""

    context: str
