"""A drop-in for the spec's ``database/supabase_client.py``.

Change one line::

    from database.supabase_client import get_db_client   # before
    from assistant_db import get_db_client               # after

and ``SupabaseClient`` keeps the spec's method names, signatures and contract: a failed
``insert_*`` returns ``None`` and logs the error through :mod:`logging` (logger
``assistant_db.supabase_client``), ``test_connection`` returns a bool, ``get_metrics``
returns a dict even on failure. It reads the same environment (``SUPABASE_URL`` and
``SUPABASE_KEY``), and also ``DATABASE_URL`` for direct PostgreSQL, or with none of them
the embedded default.

What changes underneath: records are validated before they are sent (a bad one is
refused naming the field and the rule, in the log), ids are made here so a retry never
duplicates a row, and ``get_metrics`` is computed by PostgreSQL: it returns the spec's
``total_interactions`` and every field of the metrics object, never the rows.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Dict, Optional

from . import _native
from .client import Client
from .errors import AssistantDbError

__all__ = ["SupabaseClient", "get_db_client"]

logger = logging.getLogger(__name__)

#: The filter keys ``get_metrics`` reads: the spec's three, then the metrics' own.
METRICS_FILTERS = ("mode", "date_from", "date_to", "intent", "category", "bucket")


class SupabaseClient:
    """Wrapper for the assistant's database operations (the spec's class)."""

    def __init__(self) -> None:
        """Reads the configuration; connects on first use.

        Raises:
            ConfigError: the environment is inconsistent (``SUPABASE_URL`` without
                ``SUPABASE_KEY``, a malformed ``DATABASE_URL``), as the spec's
                ``create_client`` raises for a missing URL or key.
        """
        self.location = _native.configured_location()
        self._client: Optional[Client] = None
        self._lock = threading.Lock()
        logger.info("assistant-db client initialized (%s)", self.location)

    @property
    def client(self) -> Client:
        """The typed client underneath, connected on first use (raises on failure)."""
        with self._lock:
            if self._client is None:
                self._client = Client()
            return self._client

    def test_connection(self) -> bool:
        """Test connection to the database."""
        try:
            self.client.test_connection()
            logger.info("assistant-db connection test successful")
            return True
        except AssistantDbError as e:
            logger.error(f"assistant-db connection test failed: {e}")
            return False

    def insert_interaction(self, interaction_data: Dict[str, Any]) -> Optional[str]:
        """
        Insert an interaction record.

        Args:
            interaction_data: Dictionary with interaction fields

        Returns:
            Interaction ID if successful, None otherwise
        """
        try:
            interaction_id = self.client.insert_interaction(interaction_data)
            logger.info(f"Interaction logged: {interaction_id}")
            return interaction_id
        except (AssistantDbError, TypeError) as e:
            logger.error(f"Failed to insert interaction: {e}")
            return None

    def insert_escalation(self, escalation_data: Dict[str, Any]) -> Optional[str]:
        """
        Insert an escalation record.

        Args:
            escalation_data: Dictionary with escalation fields

        Returns:
            Escalation ID if successful, None otherwise
        """
        try:
            escalation_id = self.client.insert_escalation(escalation_data)
            logger.info(f"Escalation logged: {escalation_id}")
            return escalation_id
        except (AssistantDbError, TypeError) as e:
            logger.error(f"Failed to insert escalation: {e}")
            return None

    def insert_knowledge_document(self, doc_data: Dict[str, Any]) -> Optional[str]:
        """
        Insert a knowledge document record.

        Args:
            doc_data: Dictionary with document fields

        Returns:
            Document ID if successful, None otherwise
        """
        try:
            doc_id = self.client.insert_knowledge_document(doc_data)
            logger.info(f"Knowledge document logged: {doc_id}")
            return doc_id
        except (AssistantDbError, TypeError) as e:
            logger.error(f"Failed to insert knowledge document: {e}")
            return None

    def get_metrics(self, filters: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """
        Get aggregated metrics for dashboard.

        Args:
            filters: Optional filters: ``mode``, ``date_from``, ``date_to`` (ISO strings or
                datetimes), and also ``intent``, ``category``, ``bucket``

        Returns:
            Dictionary with metric values: ``total_interactions`` and every field of the
            metrics object (rates, confidence, latency, breakdowns, timeseries, …); the
            same keys with zero counts on failure
        """
        filters = dict(filters or {})
        unknown = sorted(set(filters) - set(METRICS_FILTERS))
        if unknown:
            logger.warning("get_metrics ignores unknown filter keys: %s", ", ".join(unknown))
        try:
            return dict(self.client.metrics(**{k: filters[k] for k in METRICS_FILTERS if k in filters}))
        except (AssistantDbError, TypeError) as e:
            logger.error(f"Failed to get metrics: {e}")
            return empty_metrics()


def empty_metrics() -> Dict[str, Any]:
    """The metrics of no interactions: what ``get_metrics`` returns when it fails."""
    return {
        "total_interactions": 0,
        "resolved": 0,
        "escalated": 0,
        "resolution_rate": None,
        "escalation_rate": None,
        "avg_confidence": None,
        "processing_time_ms": {"avg": None, "p50": None, "p95": None, "p99": None},
        "by_mode": [],
        "by_intent": [],
        "by_intent_category": [],
        "escalations_by_trigger": [],
        "sessions": {"total": 0, "contained": 0},
        "pipeline": {
            "step_1_intent_completed": None,
            "step_2_routing_decision": None,
            "step_3_retrieval_performed": None,
            "step_4_response_generated": None,
            "step_5_confidence_score": None,
            "step_6_escalation_triggered": None,
        },
        "timeseries": [],
        "confidence_histogram": [0] * 10,
        "excluded": {"confidence_score": 0, "processing_time_ms": 0, "timestamp": 0},
        "suppressed": {
            "by_mode": 0,
            "by_intent": 0,
            "by_intent_category": 0,
            "escalations_by_trigger": 0,
            "timeseries": 0,
            "confidence_histogram": 0,
            "sessions": 0,
        },
    }


# Singleton instance
_db_client: Optional[SupabaseClient] = None
_db_client_lock = threading.Lock()


def get_db_client() -> SupabaseClient:
    """Get singleton client instance."""
    global _db_client
    with _db_client_lock:
        if _db_client is None:
            _db_client = SupabaseClient()
        return _db_client
