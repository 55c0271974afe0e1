"""The typed client: every operation of the library, raising typed exceptions.

Blocking methods release the GIL while they wait, so other Python threads run. Each has
an awaitable twin whose name starts with ``a`` (``insert_interaction`` /
``ainsert_interaction``): it runs on the package's own Tokio runtime and never blocks the
asyncio event loop, nor takes a thread of asyncio's default executor.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple, Union

from . import _native
from .types import (
    AssistantMode,
    EscalationRecord,
    IntentCategory,
    InteractionDetail,
    InteractionPage,
    InteractionRecord,
    InteractionRow,
    KnowledgeDocumentRecord,
    Metrics,
    Outcome,
    Written,
)

__all__ = ["Client"]

Instant = Union[str, datetime.datetime, datetime.date]
Id = Union[str, uuid.UUID]
Record = Any  # a dict of the spec's columns, any mapping, or a dataclass instance


class Client:
    """A connection to the assistant's database, over one of two transports.

    With no arguments it is configured as the command line is: ``DATABASE_URL`` (direct
    PostgreSQL), else ``SUPABASE_URL`` + ``SUPABASE_KEY`` (Supabase's REST API; a plain
    PostgREST with ``SUPABASE_REST_URL``), else the embedded default (a private
    PostgreSQL under ``ASSISTANT_DB_HOME``, started and migrated on first use), read from
    the environment, then ``.env`` in the working directory. Arguments replace the
    environment's destination: give ``database_url``, or ``supabase_url`` and
    ``supabase_key``.

    Connecting blocks (the embedded default may take seconds on first use); from async
    code use ``await Client.aconnect(...)``.

    Raises:
        ConfigError: the configuration is incomplete (a URL without its key, say).
        UnavailableError: the database could not be reached.
    """

    __slots__ = ("_native",)

    def __init__(
        self,
        database_url: Optional[str] = None,
        *,
        supabase_url: Optional[str] = None,
        supabase_key: Optional[str] = None,
        supabase_rest_url: Optional[str] = None,
        home: Optional[str] = None,
    ) -> None:
        self._native = _native.Client(
            database_url, supabase_url, supabase_rest_url, supabase_key, home
        )

    @classmethod
    async def aconnect(
        cls,
        database_url: Optional[str] = None,
        *,
        supabase_url: Optional[str] = None,
        supabase_key: Optional[str] = None,
        supabase_rest_url: Optional[str] = None,
        home: Optional[str] = None,
    ) -> "Client":
        """Connects without blocking the event loop; arguments as for ``Client()``."""
        native = await _native.Client.aconnect(
            database_url, supabase_url, supabase_rest_url, supabase_key, home
        )
        client = cls.__new__(cls)
        client._native = native
        return client

    @property
    def location(self) -> str:
        """Where the client points, with passwords and keys replaced by ``***``."""
        return self._native.location

    def __repr__(self) -> str:
        return f"<assistant_db.Client {self.location}>"

    # Connection -------------------------------------------------------------------

    def test_connection(self) -> None:
        """Checks that the database answers and the schema is there.

        Raises:
            UnavailableError: the database cannot be reached.
            AuthError: the REST API refused the key.
        """
        self._native.test_connection()

    async def atest_connection(self) -> None:
        """Awaitable :meth:`test_connection`."""
        await self._native.atest_connection()

    # Writes -----------------------------------------------------------------------

    def insert_interaction(self, interaction: InteractionRecord) -> str:
        """Writes one interaction (the spec's dict, or a dataclass); returns its id.

        A missing ``id`` is generated here (a UUIDv7), so a retry of the same dict with
        its ``id`` set is a no-op, never a duplicate.

        Raises:
            ValidationError: a field breaks a rule; ``field`` and ``rule`` say which.
        """
        return self._native.insert_interaction(interaction)

    async def ainsert_interaction(self, interaction: InteractionRecord) -> str:
        """Awaitable :meth:`insert_interaction`."""
        return await self._native.ainsert_interaction(interaction)

    def insert_escalation(self, escalation: EscalationRecord) -> str:
        """Writes one escalation of a stored interaction; returns its id.

        Raises:
            ValidationError: a field breaks a rule.
            ForeignKeyError: ``interaction_id`` names no stored interaction.
        """
        return self._native.insert_escalation(escalation)

    async def ainsert_escalation(self, escalation: EscalationRecord) -> str:
        """Awaitable :meth:`insert_escalation`."""
        return await self._native.ainsert_escalation(escalation)

    def log(
        self,
        interactions: Sequence[InteractionRecord],
        escalations: Sequence[EscalationRecord] = (),
    ) -> Written:
        """Writes interactions and escalations in one atomic statement; ids already
        stored are skipped. A bad record's ``field`` starts with its index
        (``interactions[3].confidence_score``); then nothing is written."""
        return self._native.log(interactions, escalations)

    async def alog(
        self,
        interactions: Sequence[InteractionRecord],
        escalations: Sequence[EscalationRecord] = (),
    ) -> Written:
        """Awaitable :meth:`log`."""
        return await self._native.alog(interactions, escalations)

    def log_escalated_interaction(
        self, interaction: InteractionRecord, escalation: EscalationRecord
    ) -> Tuple[str, str]:
        """Writes an interaction and its escalation atomically; returns both ids. The
        escalation's ``interaction_id`` is set to the interaction's id."""
        return self._native.log_escalated_interaction(interaction, escalation)

    async def alog_escalated_interaction(
        self, interaction: InteractionRecord, escalation: EscalationRecord
    ) -> Tuple[str, str]:
        """Awaitable :meth:`log_escalated_interaction`."""
        return await self._native.alog_escalated_interaction(interaction, escalation)

    def insert_knowledge_document(self, document: KnowledgeDocumentRecord) -> str:
        """Registers a knowledge document; returns its id.

        Raises:
            DuplicateError: its ``openai_file_id`` is already registered (use
                :meth:`upsert_knowledge_document` for ingestion re-runs).
        """
        return self._native.insert_knowledge_document(document)

    async def ainsert_knowledge_document(self, document: KnowledgeDocumentRecord) -> str:
        """Awaitable :meth:`insert_knowledge_document`."""
        return await self._native.ainsert_knowledge_document(document)

    def upsert_knowledge_document(self, document: KnowledgeDocumentRecord) -> str:
        """Registers or updates a document by ``openai_file_id``; returns the stored id."""
        return self._native.insert_knowledge_document(document, True)

    async def aupsert_knowledge_document(self, document: KnowledgeDocumentRecord) -> str:
        """Awaitable :meth:`upsert_knowledge_document`."""
        return await self._native.ainsert_knowledge_document(document, True)

    # Reads ------------------------------------------------------------------------

    def interactions(
        self,
        *,
        mode: Optional[AssistantMode] = None,
        outcome: Optional[Outcome] = None,
        intent: Optional[str] = None,
        category: Optional[IntentCategory] = None,
        session: Optional[str] = None,
        date_from: Optional[Instant] = None,
        date_to: Optional[Instant] = None,
        limit: Optional[int] = None,
        after: Optional[str] = None,
    ) -> InteractionPage:
        """One page of interactions, newest first (``limit``: 1 to 1000, default 50).

        Filters combine with AND; ``date_from``/``date_to`` bound ``timestamp``
        inclusively (ISO 8601 strings, datetimes or dates; no offset means UTC). Pass the
        page's ``next`` as ``after`` for the following page; it is ``None`` on the last.
        """
        return self._native.interactions(
            dict(
                mode=mode,
                outcome=outcome,
                intent=intent,
                category=category,
                session=session,
                date_from=date_from,
                date_to=date_to,
                limit=limit,
                after=after,
            )
        )

    async def ainteractions(
        self,
        *,
        mode: Optional[AssistantMode] = None,
        outcome: Optional[Outcome] = None,
        intent: Optional[str] = None,
        category: Optional[IntentCategory] = None,
        session: Optional[str] = None,
        date_from: Optional[Instant] = None,
        date_to: Optional[Instant] = None,
        limit: Optional[int] = None,
        after: Optional[str] = None,
    ) -> InteractionPage:
        """Awaitable :meth:`interactions`."""
        return await self._native.ainteractions(
            dict(
                mode=mode,
                outcome=outcome,
                intent=intent,
                category=category,
                session=session,
                date_from=date_from,
                date_to=date_to,
                limit=limit,
                after=after,
            )
        )

    def iter_interactions(
        self,
        *,
        mode: Optional[AssistantMode] = None,
        outcome: Optional[Outcome] = None,
        intent: Optional[str] = None,
        category: Optional[IntentCategory] = None,
        session: Optional[str] = None,
        date_from: Optional[Instant] = None,
        date_to: Optional[Instant] = None,
        page_size: int = 500,
    ) -> Iterator[InteractionRow]:
        """Every matching interaction, newest first, fetched ``page_size`` at a time."""
        after: Optional[str] = None
        while True:
            page = self.interactions(
                mode=mode,
                outcome=outcome,
                intent=intent,
                category=category,
                session=session,
                date_from=date_from,
                date_to=date_to,
                limit=page_size,
                after=after,
            )
            yield from page["items"]
            after = page["next"]
            if after is None:
                return

    def interaction(self, id: Id) -> Optional[InteractionDetail]:
        """One interaction with its escalations; ``None`` when there is none."""
        return self._native.interaction(id)

    async def ainteraction(self, id: Id) -> Optional[InteractionDetail]:
        """Awaitable :meth:`interaction`."""
        return await self._native.ainteraction(id)

    def delete_interaction(self, id: Id) -> bool:
        """Deletes an interaction and, by cascade, its escalations; True if it existed."""
        return self._native.delete_interaction(id)

    async def adelete_interaction(self, id: Id) -> bool:
        """Awaitable :meth:`delete_interaction`."""
        return await self._native.adelete_interaction(id)

    def metrics(
        self,
        *,
        mode: Optional[AssistantMode] = None,
        date_from: Optional[Instant] = None,
        date_to: Optional[Instant] = None,
        intent: Optional[str] = None,
        category: Optional[IntentCategory] = None,
        bucket: str = "day",
    ) -> Metrics:
        """Dashboard metrics, computed by PostgreSQL (never by fetching rows): totals,
        rates, confidence, latency percentiles, breakdowns, sessions, pipeline steps, a
        timeseries (``bucket``: ``hour``, ``day`` or ``week``) and the confidence
        histogram."""
        return self._native.metrics(
            dict(
                mode=mode,
                date_from=date_from,
                date_to=date_to,
                intent=intent,
                category=category,
                bucket=bucket,
            )
        )

    async def ametrics(
        self,
        *,
        mode: Optional[AssistantMode] = None,
        date_from: Optional[Instant] = None,
        date_to: Optional[Instant] = None,
        intent: Optional[str] = None,
        category: Optional[IntentCategory] = None,
        bucket: str = "day",
    ) -> Metrics:
        """Awaitable :meth:`metrics`."""
        return await self._native.ametrics(
            dict(
                mode=mode,
                date_from=date_from,
                date_to=date_to,
                intent=intent,
                category=category,
                bucket=bucket,
            )
        )

    def verify(self) -> Dict[str, Any]:
        """The spec's validation checklist (tables, columns, indexes, constraints, the
        foreign key, security) as far as the transport can see: ``passed`` and every
        check with its detail. Leaves no rows behind."""
        return self._native.verify()

    async def averify(self) -> Dict[str, Any]:
        """Awaitable :meth:`verify`."""
        return await self._native.averify()
