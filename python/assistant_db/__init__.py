"""assistant_db: the database layer of the AI banking assistant, from Python.

Two ways in:

- the spec's wrapper, as a drop-in: ``from assistant_db import get_db_client`` in place
  of ``from database.supabase_client import get_db_client``; same methods, same
  ``None``-on-failure contract;
- the real API: :class:`Client` (typed exceptions, pagination, metrics computed by
  PostgreSQL, awaitable ``a…`` twins of every waiting call) and :class:`Logger` (a
  durable spool drained in batches, through database outages).

Both are configured from the environment as the ``assistant-db`` command is:
``DATABASE_URL``, else ``SUPABASE_URL`` + ``SUPABASE_KEY``, else the embedded default.
The core is the Rust library, compiled into ``assistant_db._native``.
"""

from . import _native
from .client import Client
from .errors import (
    AssistantDbError,
    AuthError,
    CheckViolationError,
    ConfigError,
    DatabaseError,
    DuplicateError,
    FilesystemError,
    ForeignKeyError,
    LocalDatabaseError,
    MigrationError,
    NotNullError,
    PermissionDeniedError,
    SpoolError,
    SpoolFullError,
    UnavailableError,
    ValidationError,
)
from .logger import Logger
from .supabase_client import SupabaseClient, get_db_client

__version__: str = _native.__version__


def stop_embedded(home: "str | None" = None) -> bool:
    """Stops the embedded PostgreSQL under ``home`` (default: ``ASSISTANT_DB_HOME``, or
    its default), as ``assistant-db local stop`` does; True if it was running. The
    embedded server otherwise keeps running after the process exits, as
    ``supabase start`` does."""
    return _native.stop_embedded(home)


__all__ = [
    "Client",
    "Logger",
    "SupabaseClient",
    "get_db_client",
    "stop_embedded",
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
