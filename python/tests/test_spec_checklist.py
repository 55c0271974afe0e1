"""The spec's validation checklist, run through the drop-in wrapper unchanged.

Each destination is chosen by the environment only, as in the spec: the embedded default
(nothing set), direct PostgreSQL (``DATABASE_URL``) and the REST API (a key, and the API's
URL: the spec's ``SUPABASE_URL``, a project URL whose API is under ``/rest/v1``, or
``SUPABASE_REST_URL`` for a plain PostgREST serving it at its root).
"""

from __future__ import annotations

import datetime
import logging
import uuid

import pytest

import assistant_db
from assistant_db import supabase_client
from assistant_db.supabase_client import SupabaseClient, empty_metrics

from conftest import Target, interaction, run_script


def check_script_output(result) -> str:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "test_connection: True", result.stdout + result.stderr
    assert lines[1].startswith("Inserted interaction: "), result.stdout
    inserted = lines[1].split(": ", 1)[1]
    uuid.UUID(inserted)  # an id, not None
    assert lines[2] == "total_interactions: 1", result.stdout
    return inserted


def test_the_spec_steps_work_on_the_embedded_default(home: str) -> None:
    result = run_script("spec_checklist.py", {"ASSISTANT_DB_HOME": home})
    inserted = check_script_output(result)
    # The embedded server kept the row: a second process reads it back.
    stored = assistant_db.Client(home=home).interaction(inserted)
    assert stored is not None
    assert stored["user_query"] == "test query"
    assert stored["step_1_intent_completed"] is True


def test_the_spec_steps_work_over_direct_postgresql(database_url: str) -> None:
    inserted = check_script_output(run_script("spec_checklist.py", {"DATABASE_URL": database_url}))
    assert assistant_db.Client(database_url).interaction(inserted)["outcome"] == "resolved"


@pytest.mark.parametrize("url_variable", ["SUPABASE_URL", "SUPABASE_REST_URL"])
def test_the_spec_steps_work_over_rest(rest, url_variable: str) -> None:
    # SUPABASE_URL + SUPABASE_KEY is the spec's own configuration: a project URL, served
    # under /rest/v1 as on Supabase.
    url = rest["project_url"] if url_variable == "SUPABASE_URL" else rest["url"]
    env = {url_variable: url, "SUPABASE_KEY": rest["service_key"]}
    inserted = check_script_output(run_script("spec_checklist.py", env))
    assert assistant_db.Client(rest["database_url"]).interaction(inserted)["assistant_mode"] == "customer"


def test_with_the_public_key_inserts_work_and_metrics_fail_as_the_spec_fails(rest, monkeypatch, caplog) -> None:
    monkeypatch.setenv("SUPABASE_REST_URL", rest["url"])
    monkeypatch.setenv("SUPABASE_KEY", rest["anon_key"])
    for name in ("DATABASE_URL", "SUPABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    db = SupabaseClient()
    assert db.test_connection() is True
    assert db.insert_interaction(interaction(1)) is not None
    with caplog.at_level(logging.ERROR, logger="assistant_db.supabase_client"):
        metrics = db.get_metrics()
    # Row-level security: the public key may log, not read (metrics are opt-in).
    assert metrics == empty_metrics()
    assert any("Failed to get metrics" in r.getMessage() and "permission denied" in r.getMessage() for r in caplog.records)
    assert assistant_db.Client(rest["database_url"]).metrics()["total_interactions"] == 1


@pytest.fixture
def wrapper(target: Target, monkeypatch) -> SupabaseClient:
    for name in ("DATABASE_URL", "SUPABASE_URL", "SUPABASE_KEY", "SUPABASE_REST_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in target.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(supabase_client, "_db_client", None)
    return supabase_client.get_db_client()


def test_get_db_client_is_a_singleton(wrapper: SupabaseClient) -> None:
    assert assistant_db.get_db_client() is wrapper


def test_the_wrapper_returns_none_and_logs_the_field_when_a_check_fails(wrapper: SupabaseClient, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="assistant_db.supabase_client"):
        assert wrapper.insert_interaction({"assistant_mode": "robot", "user_query": "q", "outcome": "resolved"}) is None
    [record] = [r for r in caplog.records if r.name == "assistant_db.supabase_client"]
    assert "Failed to insert interaction" in record.getMessage()
    assert "assistant_mode" in record.getMessage()
    assert "'customer', 'banker'" in record.getMessage()
    assert wrapper.get_metrics()["total_interactions"] == 0


def test_the_wrapper_refuses_an_escalation_of_no_interaction(wrapper: SupabaseClient, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="assistant_db.supabase_client"):
        result = wrapper.insert_escalation(
            {"interaction_id": str(uuid.uuid4()), "trigger_type": "human_only", "escalation_reason": "r"}
        )
    assert result is None
    assert any("Failed to insert escalation" in r.getMessage() for r in caplog.records)


def test_the_wrapper_writes_escalations_and_knowledge_documents(wrapper: SupabaseClient, target: Target, caplog) -> None:
    interaction_id = wrapper.insert_interaction(interaction(1, outcome="escalated"))
    escalation_id = wrapper.insert_escalation(
        {"interaction_id": interaction_id, "trigger_type": "low_confidence", "escalation_reason": "0.3 < 0.6"}
    )
    assert escalation_id is not None
    detail = target.owner().interaction(interaction_id)
    assert [e["id"] for e in detail["escalations"]] == [escalation_id]

    doc = {"openai_file_id": "file-abc", "title": "Overdraft fees", "content_type": "public", "metadata": {"pages": 3}}
    assert wrapper.insert_knowledge_document(doc) is not None
    with caplog.at_level(logging.ERROR, logger="assistant_db.supabase_client"):
        # The spec's insert refuses a registered file id (UNIQUE); the wrapper says None.
        assert wrapper.insert_knowledge_document(doc) is None
    assert any("Failed to insert knowledge document" in r.getMessage() for r in caplog.records)


def test_get_metrics_gives_the_total_and_every_metrics_field_never_the_rows(wrapper: SupabaseClient) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    old = (now - datetime.timedelta(days=10)).isoformat()
    for n, mode in enumerate(["customer", "customer", "banker"]):
        assert wrapper.insert_interaction(interaction(n, assistant_mode=mode)) is not None
    assert wrapper.insert_interaction(interaction(9, timestamp=old)) is not None

    everything = wrapper.get_metrics()
    assert everything["total_interactions"] == 4
    assert "interactions" not in everything
    assert set(empty_metrics()) <= set(everything)
    # The spec's filter keys, with ISO strings and with datetimes.
    assert wrapper.get_metrics({"mode": "banker"})["total_interactions"] == 1
    since = now - datetime.timedelta(days=1)
    assert wrapper.get_metrics({"date_from": since.isoformat()})["total_interactions"] == 3
    assert wrapper.get_metrics({"date_from": since, "mode": "customer"})["total_interactions"] == 2
    assert wrapper.get_metrics({"date_to": since})["total_interactions"] == 1
    assert wrapper.get_metrics({"date_to": since.date().isoformat()})["total_interactions"] == 1


def test_empty_metrics_have_the_shape_of_the_database_answer(wrapper: SupabaseClient) -> None:
    real = wrapper.get_metrics()
    assert real == empty_metrics()


def test_the_wrapper_reports_an_unreachable_database_as_false(monkeypatch, caplog) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://nobody@127.0.0.1:1/nothing?connect_timeout=2")
    db = SupabaseClient()
    with caplog.at_level(logging.ERROR, logger="assistant_db.supabase_client"):
        assert db.test_connection() is False
        assert db.insert_interaction(interaction()) is None
    messages = [r.getMessage() for r in caplog.records]
    assert any("connection test failed" in m and "unavailable" in m for m in messages), messages


def test_a_half_configuration_raises_as_create_client_does(monkeypatch) -> None:
    for name in ("DATABASE_URL", "SUPABASE_KEY", "SUPABASE_REST_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SUPABASE_URL", "https://example.supabase.co")
    with pytest.raises(assistant_db.ConfigError, match="SUPABASE_KEY"):
        SupabaseClient()


def test_verify_runs_the_schema_checklist(database_url: str) -> None:
    report = assistant_db.Client(database_url).verify()
    assert report["passed"] is True, [c for c in report["checks"] if not c["ok"]]
    sections = {c["section"] for c in report["checks"]}
    assert {"tables", "columns", "indexes", "constraints", "behaviour"} <= sections
    objects = " ".join(c["object"] for c in report["checks"])
    for expected in ("knowledge_documents", "idx_interactions_mode", "idx_escalations_interaction"):
        assert expected in objects
