"""The shapes of the dicts assistant_db takes and returns, for type checkers and IDEs.

Records in are the spec's dicts: column names as keys, the three required ones for an
interaction (``assistant_mode``, ``user_query``, ``outcome``), any other column optional.
``id`` and timestamps are filled in when missing. Timestamps are RFC 3339 strings or
timezone-aware ``datetime`` objects; ids are strings or ``uuid.UUID``.

Rows out are the JSON objects PostgreSQL (and so supabase-py) gives for a row: ids and
timestamps as strings, so that ``json.dumps`` takes them as they are. A row another
program stored outside the model's rules still reads: a NaN confidence comes back as the
string ``"NaN"``, an infinite timestamp as ``"infinity"``.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Dict, List, Literal, Optional, TypedDict, Union

__all__ = [
    "AssistantMode",
    "IntentCategory",
    "Outcome",
    "ContentType",
    "Citation",
    "InteractionRecord",
    "EscalationRecord",
    "KnowledgeDocumentRecord",
    "InteractionRow",
    "EscalationRow",
    "InteractionDetail",
    "InteractionPage",
    "Written",
    "Metrics",
    "LoggerStats",
]

AssistantMode = Literal["customer", "banker"]
IntentCategory = Literal["automatable", "sensitive", "human_only"]
Outcome = Literal["resolved", "escalated"]
ContentType = Literal["public", "synthetic"]

Id = Union[str, uuid.UUID]
Instant = Union[str, datetime.datetime]


class _CitationRequired(TypedDict):
    number: int
    source: str


class Citation(_CitationRequired, total=False):
    """One source an answer cites: ``{"number": 1, "source": "...", "url": "..."}``."""

    url: Optional[str]


class _InteractionRequired(TypedDict):
    assistant_mode: AssistantMode
    user_query: str
    outcome: Outcome


class InteractionRecord(_InteractionRequired, total=False):
    """An interaction to write: the spec's dict. Optional ``escalations`` are written with
    it (``Logger.log``)."""

    id: Id
    timestamp: Instant
    session_id: Optional[str]
    intent_name: Optional[str]
    intent_category: Optional[IntentCategory]
    classification_reason: Optional[str]
    step_1_intent_completed: Optional[bool]
    step_2_routing_decision: Optional[str]
    step_3_retrieval_performed: Optional[bool]
    step_4_response_generated: Optional[bool]
    step_5_confidence_score: Optional[float]
    step_6_escalation_triggered: Optional[bool]
    confidence_score: Optional[float]
    escalation_reason: Optional[str]
    response_text: Optional[str]
    citations: Optional[List[Citation]]
    retrieved_chunks_count: Optional[int]
    processing_time_ms: Optional[int]
    created_at: Optional[Instant]
    escalations: List["EscalationRecord"]


class _EscalationRequired(TypedDict):
    trigger_type: str
    escalation_reason: str


class EscalationRecord(_EscalationRequired, total=False):
    """An escalation to write; ``interaction_id`` names its interaction."""

    id: Id
    interaction_id: Optional[Id]
    created_at: Optional[Instant]


class _KnowledgeDocumentRequired(TypedDict):
    openai_file_id: str
    title: str


class KnowledgeDocumentRecord(_KnowledgeDocumentRequired, total=False):
    """A knowledge document to register."""

    id: Id
    source_url: Optional[str]
    content_type: Optional[ContentType]
    topic_collection: Optional[str]
    ingested_at: Optional[Instant]
    metadata: Optional[Dict[str, Any]]


class InteractionRow(TypedDict):
    """A stored interaction, as PostgreSQL's JSON of the row."""

    id: str
    timestamp: Optional[str]
    assistant_mode: AssistantMode
    session_id: Optional[str]
    user_query: str
    intent_name: Optional[str]
    intent_category: Optional[IntentCategory]
    classification_reason: Optional[str]
    step_1_intent_completed: Optional[bool]
    step_2_routing_decision: Optional[str]
    step_3_retrieval_performed: Optional[bool]
    step_4_response_generated: Optional[bool]
    step_5_confidence_score: Union[float, str, None]
    step_6_escalation_triggered: Optional[bool]
    outcome: Outcome
    confidence_score: Union[float, str, None]
    escalation_reason: Optional[str]
    response_text: Optional[str]
    citations: Any
    retrieved_chunks_count: Optional[int]
    processing_time_ms: Optional[int]
    created_at: Optional[str]


class EscalationRow(TypedDict):
    """A stored escalation."""

    id: str
    interaction_id: Optional[str]
    trigger_type: str
    escalation_reason: str
    created_at: Optional[str]


class InteractionDetail(InteractionRow):
    """A stored interaction with its escalations, oldest first."""

    escalations: List[EscalationRow]


class InteractionPage(TypedDict):
    """One page of interactions, newest first; pass ``next`` as ``after`` to go on."""

    items: List[InteractionRow]
    next: Optional[str]


class Written(TypedDict):
    """How many rows one write inserted (rows whose id was already stored are skipped)."""

    interactions: int
    escalations: int


class Metrics(TypedDict, total=False):
    """The dashboard metrics: the object ``interaction_metrics()`` returns."""

    total_interactions: int
    resolved: int
    escalated: int
    resolution_rate: Optional[float]
    escalation_rate: Optional[float]
    avg_confidence: Optional[float]
    processing_time_ms: Dict[str, Optional[float]]
    by_mode: List[Dict[str, Any]]
    by_intent: List[Dict[str, Any]]
    by_intent_category: List[Dict[str, Any]]
    escalations_by_trigger: List[Dict[str, Any]]
    sessions: Dict[str, int]
    pipeline: Dict[str, Optional[float]]
    timeseries: List[Dict[str, Any]]
    confidence_histogram: List[Optional[int]]
    excluded: Dict[str, Optional[int]]
    suppressed: Dict[str, int]


class LoggerStats(TypedDict):
    """The logger's counters."""

    logged: int
    stored: int
    retried: int
    dead: int
    depth: int
    oldest_age_ms: Optional[int]
    unspooled: int
    last_error: Optional[str]
