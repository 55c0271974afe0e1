"""The durable logger: never blocks the assistant, never loses or duplicates a record.

``log`` writes the record to a local spool (SQLite, synced to disk) and returns once it
is there; a background task on the package's runtime drains the spool to the database in
batches, and keeps records through outages, restarts and crashes of this process. A
logger still open when the interpreter exits is shut down then, waiting up to
``exit_timeout`` seconds for the database; what is left stays in the spool for the next
logger on it.
"""

from __future__ import annotations

import atexit
import logging
import threading
from types import TracebackType
from typing import Any, Iterable, Optional, Set, Type

from . import _native
from .client import Client
from .types import EscalationRecord, InteractionRecord, LoggerStats

__all__ = ["Logger"]

_open: Set["Logger"] = set()
_open_lock = threading.Lock()


class Logger:
    """A handle on the spool; share one per process between threads and tasks.

    Args:
        client: where records go; default ``Client()`` (the environment's destination).
        spool_path: the spool file; default one per destination under
            ``$ASSISTANT_DB_HOME/spool/`` (or ``ASSISTANT_DB_SPOOL``).
        batch_size: records per database write (default 500).
        flush_interval: seconds a record may wait for a fuller batch (default 1).
        max_records, max_bytes: the spool's limits (default one million, 1 GiB).
        full_wait: seconds ``log`` waits for room when the spool is full before it raises
            ``SpoolFullError`` (default 5; 0 raises at once).
        exit_timeout: seconds to wait for the database at interpreter exit (default 5).

    Use it as a context manager (``with Logger() as log:``, or ``async with``) to shut it
    down on leaving the block.
    """

    __slots__ = ("_native", "_exit_timeout", "__weakref__")

    def __init__(
        self,
        client: Optional[Client] = None,
        *,
        spool_path: Optional[str] = None,
        batch_size: Optional[int] = None,
        flush_interval: Optional[float] = None,
        max_records: Optional[int] = None,
        max_bytes: Optional[int] = None,
        full_wait: Optional[float] = None,
        exit_timeout: float = 5.0,
    ) -> None:
        client = client if client is not None else Client()
        self._native = _native.Logger(
            client._native,
            spool_path,
            batch_size,
            flush_interval,
            max_records,
            max_bytes,
            full_wait,
        )
        self._exit_timeout = exit_timeout
        with _open_lock:
            _open.add(self)

    @property
    def spool_path(self) -> str:
        """The spool file."""
        return self._native.spool_path

    def __repr__(self) -> str:
        return f"<assistant_db.Logger spool={self.spool_path!r}>"

    def log(self, interaction: InteractionRecord) -> None:
        """Spools an interaction and returns once it is on disk (about one disk sync).

        The dict may carry ``"escalations"``: a list of escalation records written with
        it (their ``interaction_id`` is set to its id).

        Raises:
            ValidationError: a field breaks a rule; nothing was spooled.
            SpoolFullError: the spool stayed full for ``full_wait`` seconds.
        """
        self._native.log(interaction)

    async def alog(self, interaction: InteractionRecord) -> None:
        """Awaitable :meth:`log`."""
        await self._native.alog(interaction)

    def log_many(self, interactions: Iterable[InteractionRecord]) -> None:
        """Spools many interactions (each may carry ``"escalations"``) with one disk sync.

        Every record is checked first: a bad one raises ``ValidationError`` naming it
        (``records[3].confidence_score``) and nothing is spooled."""
        self._native.log_many(list(interactions))

    async def alog_many(self, interactions: Iterable[InteractionRecord]) -> None:
        """Awaitable :meth:`log_many`."""
        await self._native.alog_many(list(interactions))

    def log_escalation(self, escalation: EscalationRecord) -> None:
        """Spools an escalation of an interaction logged earlier; it is written after it."""
        self._native.log_escalation(escalation)

    async def alog_escalation(self, escalation: EscalationRecord) -> None:
        """Awaitable :meth:`log_escalation`."""
        await self._native.alog_escalation(escalation)

    def log_nowait(self, interaction: InteractionRecord) -> None:
        """Hands an interaction (with at most one escalation) to an in-memory buffer and
        returns at once, without waiting for the disk; safe to call from async code.

        It reaches the spool within milliseconds; :meth:`flush` covers it. Records in the
        buffer are lost if the process is killed before they are spooled.
        """
        self._native.log_nowait(interaction)

    def flush(self, timeout: float = 30.0) -> None:
        """Waits until everything logged before this call is stored.

        Raises:
            UnavailableError: not everything was stored within ``timeout`` seconds (the
                rest stays spooled and keeps draining).
        """
        self._native.flush(timeout)

    async def aflush(self, timeout: float = 30.0) -> None:
        """Awaitable :meth:`flush`."""
        await self._native.aflush(timeout)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Flushes (up to ``timeout`` seconds), then stops; later calls raise. What is
        still spooled stays on disk for the next logger on this spool."""
        self._forget()
        self._native.shutdown(timeout)

    async def ashutdown(self, timeout: float = 30.0) -> None:
        """Awaitable :meth:`shutdown`."""
        self._forget()
        await self._native.ashutdown(timeout)

    def stats(self) -> LoggerStats:
        """Counters: logged, stored, retried, dead, depth, the oldest entry's age, …"""
        return self._native.stats()

    async def astats(self) -> LoggerStats:
        """Awaitable :meth:`stats`."""
        return await self._native.astats()

    def __enter__(self) -> "Logger":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.shutdown(self._exit_timeout)

    async def __aenter__(self) -> "Logger":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.ashutdown(self._exit_timeout)

    def _forget(self) -> None:
        with _open_lock:
            _open.discard(self)


@atexit.register
def _shut_down_open_loggers() -> None:
    """Flushes and stops every logger still open when the interpreter exits."""
    with _open_lock:
        loggers = list(_open)
        _open.clear()
    for logger in loggers:
        try:
            logger._native.shutdown(logger._exit_timeout)
        except Exception as error:  # the rest stays spooled for the next logger
            logging.getLogger(__name__).warning(
                "logger on %s not fully flushed at exit: %s", logger.spool_path, error
            )
