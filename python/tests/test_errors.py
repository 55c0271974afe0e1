"""Bad input raises the exception of its kind, naming the field and the rule."""

from __future__ import annotations

import datetime
import math
import pickle

import pytest

import assistant_db
from assistant_db import ValidationError
from conftest import Target, interaction


@pytest.mark.parametrize(
    "change, field, rule",
    [
        ({"assistant_mode": "robot"}, "assistant_mode", "must be one of 'customer', 'banker'"),
        ({"confidence_score": 42}, "confidence_score", "must be between 0 and 1"),
        ({"confidence_score": math.nan}, "confidence_score", "must be a finite number"),
        ({"user_query": "   "}, "user_query", "must not be empty or whitespace-only"),
        ({"session_id": "x" * 256}, "session_id", "must be at most 255 characters"),
        ({"citations": [{"number": 1, "source": "a"}, {"number": 2}]}, "citations[1].source", "is required"),
        ({"processing_time_ms": -1}, "processing_time_ms", "at least 0"),
        ({"timestamp": datetime.datetime(2024, 1, 1)}, "timestamp", "timezone-aware"),
        ({"step_1_intent_completed": "yes"}, "step_1_intent_completed", ""),
        ({"colour": "blue"}, "colour", "is not a column of interactions"),
        ({"citations": {1, 2}}, "citations", "must be a JSON value"),
    ],
)
def test_a_bad_field_is_named_with_its_rule(target: Target, change, field, rule) -> None:
    with pytest.raises(ValidationError) as raised:
        target.client.insert_interaction(interaction(1, **change))
    error = raised.value
    assert error.field == field
    assert rule in error.rule
    assert isinstance(error, ValueError) and isinstance(error, assistant_db.AssistantDbError)
    assert error.retryable is False
    assert target.client.metrics()["total_interactions"] == 0


def test_a_batch_names_the_record_and_writes_nothing(target: Target) -> None:
    with pytest.raises(ValidationError) as raised:
        target.client.log([interaction(1), interaction(2, outcome="maybe")])
    assert raised.value.field == "interactions[1].outcome"
    assert target.client.metrics()["total_interactions"] == 0


def test_a_missing_required_column_is_named(target: Target) -> None:
    with pytest.raises(ValidationError) as raised:
        target.client.insert_interaction({"assistant_mode": "customer", "outcome": "resolved"})
    assert (raised.value.field, raised.value.rule) == ("user_query", "is required")


def test_a_record_that_is_not_a_dict_is_a_type_error(target: Target) -> None:
    with pytest.raises(TypeError, match="dict"):
        target.client.insert_interaction(["customer", "q", "resolved"])


def test_filters_are_checked_by_name(target: Target) -> None:
    with pytest.raises(ValidationError) as raised:
        target.client.metrics(mode="robot")
    assert raised.value.field == "mode"
    with pytest.raises(ValidationError) as raised:
        target.client.interactions(date_from="last tuesday")
    assert raised.value.field == "date_from"
    with pytest.raises(ValidationError) as raised:
        target.client.interactions(limit=5000)
    assert raised.value.field == "limit"
    with pytest.raises(ValidationError) as raised:
        target.client.interactions(after="not-a-cursor")
    assert raised.value.field == "after"
    with pytest.raises(ValidationError) as raised:
        target.client.interaction("not-a-uuid")
    assert raised.value.field == "id"


def test_an_escalation_of_no_interaction_is_refused(target: Target) -> None:
    escalation = {
        "interaction_id": "0190b6a0-0000-7000-8000-000000000001",
        "trigger_type": "human_only",
        "escalation_reason": "r",
    }
    with pytest.raises((assistant_db.ForeignKeyError, ValidationError)) as raised:
        target.client.insert_escalation(escalation)
    assert raised.value.field is not None and "interaction_id" in raised.value.field


def test_a_duplicate_file_id_is_a_duplicate_error(target: Target) -> None:
    doc = {"openai_file_id": "file-dup", "title": "t"}
    target.client.insert_knowledge_document(doc)
    with pytest.raises(assistant_db.DuplicateError) as raised:
        target.client.insert_knowledge_document(doc)
    assert raised.value.field == "openai_file_id"
    assert raised.value.rule == "must be unique"


def test_configuration_and_outages_have_their_own_classes() -> None:
    with pytest.raises(assistant_db.ConfigError, match="SUPABASE_KEY"):
        assistant_db.Client(supabase_url="https://example.supabase.co")
    with pytest.raises(assistant_db.ConfigError, match="DATABASE_URL"):
        assistant_db.Client("mysql://x@y/z")
    with pytest.raises(assistant_db.UnavailableError) as raised:
        assistant_db.Client("postgres://nobody@127.0.0.1:1/nothing?connect_timeout=2")
    assert raised.value.retryable is True


def test_the_public_key_may_log_but_not_read(rest) -> None:
    anon = assistant_db.Client(supabase_rest_url=rest["url"], supabase_key=rest["anon_key"])
    anon.insert_interaction(interaction(1))
    with pytest.raises(assistant_db.PermissionDeniedError, match="secret"):
        anon.interactions()
    with pytest.raises(assistant_db.AuthError):
        assistant_db.Client(supabase_rest_url=rest["url"], supabase_key="not-a-key").test_connection()


def test_exceptions_keep_their_attributes_through_pickle(target: Target) -> None:
    with pytest.raises(ValidationError) as raised:
        target.client.insert_interaction(interaction(1, confidence_score=2))
    copy = pickle.loads(pickle.dumps(raised.value))
    assert type(copy) is ValidationError
    assert (copy.field, copy.rule, copy.retryable) == (raised.value.field, raised.value.rule, False)
    assert str(copy) == str(raised.value)
