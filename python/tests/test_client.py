"""The typed client over both transports: writes, reads, pagination, metrics."""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from typing import Optional

import assistant_db
from conftest import Target, interaction


def test_an_interaction_reads_back_with_every_field(target: Target) -> None:
    record = interaction(7, classification_reason="card dispute", escalation_reason=None)
    interaction_id = target.client.insert_interaction(record)
    stored = target.client.interaction(interaction_id)
    assert stored is not None
    for column, value in record.items():
        assert stored[column] == value, column
    assert stored["escalations"] == []
    assert stored["timestamp"] is not None


def test_a_retry_with_the_same_id_stores_one_row(target: Target) -> None:
    record = interaction(1, id=str(uuid.uuid4()))
    assert target.client.insert_interaction(record) == record["id"]
    assert target.client.insert_interaction(record) == record["id"]
    assert target.client.metrics()["total_interactions"] == 1


def test_log_writes_interactions_and_escalations_together(target: Target) -> None:
    first, second = interaction(1, id=str(uuid.uuid4()), outcome="escalated"), interaction(2)
    escalation = {"interaction_id": first["id"], "trigger_type": "human_only", "escalation_reason": "needs a banker"}
    assert target.client.log([first, second], [escalation]) == {"interactions": 2, "escalations": 1}
    detail = target.client.interaction(first["id"])
    assert [e["trigger_type"] for e in detail["escalations"]] == ["human_only"]
    ids = target.client.log_escalated_interaction(
        interaction(3, outcome="escalated"), {"trigger_type": "low_confidence", "escalation_reason": "0.2"}
    )
    assert target.client.interaction(ids[0])["escalations"][0]["id"] == ids[1]


def test_pages_cover_every_row_once_newest_first(target: Target) -> None:
    start = datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)
    records = [interaction(n, timestamp=start + datetime.timedelta(minutes=n)) for n in range(7)]
    target.client.log(records)
    seen = []
    after: Optional[str] = None
    pages = 0
    while True:
        page = target.client.interactions(limit=3, after=after)
        pages += 1
        seen += [row["session_id"] for row in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert pages == 3
    assert seen == [f"conv_test_{n:05d}" for n in reversed(range(7))]
    assert [r["session_id"] for r in target.client.iter_interactions(page_size=2)] == seen
    window = target.client.interactions(
        date_from=start + datetime.timedelta(minutes=2), date_to="2024-05-01T00:04:00Z"
    )
    assert [r["session_id"] for r in window["items"]] == [f"conv_test_{n:05d}" for n in (4, 3, 2)]


def test_filters_and_metrics_are_computed_by_the_database(target: Target) -> None:
    target.client.log(
        [
            interaction(1, assistant_mode="banker", outcome="escalated", confidence_score=0.2),
            interaction(2, assistant_mode="customer", confidence_score=0.8),
            interaction(3, assistant_mode="customer", intent_name="close_account", intent_category="human_only"),
        ]
    )
    assert [r["session_id"] for r in target.client.interactions(mode="banker")["items"]] == ["conv_test_00001"]
    assert len(target.client.interactions(outcome="resolved")["items"]) == 2
    assert len(target.client.interactions(category="human_only")["items"]) == 1
    metrics = target.client.metrics()
    assert metrics["total_interactions"] == 3
    assert metrics["escalated"] == 1
    assert abs(metrics["escalation_rate"] - 1 / 3) < 1e-9
    assert {m["assistant_mode"]: m["total"] for m in metrics["by_mode"]} == {"banker": 1, "customer": 2}
    assert target.client.metrics(mode="customer", intent="close_account")["total_interactions"] == 1
    assert len(target.client.metrics(bucket="hour")["timeseries"]) >= 1


def test_delete_cascades_to_escalations(target: Target) -> None:
    interaction_id, _ = target.client.log_escalated_interaction(
        interaction(1, outcome="escalated"), {"trigger_type": "human_only", "escalation_reason": "r"}
    )
    assert target.client.delete_interaction(uuid.UUID(interaction_id)) is True
    assert target.client.interaction(interaction_id) is None
    assert target.client.delete_interaction(interaction_id) is False


@dataclasses.dataclass
class Turn:
    assistant_mode: str
    user_query: str
    outcome: str
    timestamp: datetime.datetime
    id: uuid.UUID = dataclasses.field(default_factory=uuid.uuid4)
    confidence_score: Optional[float] = None


def test_dataclasses_datetimes_and_uuids_are_taken_as_they_are(target: Target) -> None:
    at = datetime.datetime(2024, 6, 1, 12, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    turn = Turn("banker", "What is the wire cut-off?", "resolved", at)
    assert target.client.insert_interaction(turn) == str(turn.id)
    stored = target.client.interaction(turn.id)
    assert stored["timestamp"].startswith("2024-06-01T10:30:00")
    assert stored["confidence_score"] is None


def test_knowledge_documents_upsert_by_file_id(target: Target) -> None:
    doc = {"openai_file_id": "file-1", "title": "Fees", "metadata": {"v": 1}}
    first = target.client.upsert_knowledge_document(doc)
    again = target.client.upsert_knowledge_document({**doc, "title": "Fees (2025)"})
    assert first == again


def test_the_location_never_shows_the_key(target: Target) -> None:
    shown = target.client.location + repr(target.client)
    assert target.env.get("SUPABASE_KEY", "unset-key") not in shown
