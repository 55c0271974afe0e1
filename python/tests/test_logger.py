"""The durable logger from Python: spooling, flushing, shutdown, restarts, exit."""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid

import pytest

import assistant_db
from assistant_db import Logger
from conftest import Harness, Target, interaction, run_script


def spool(directory: str) -> str:
    return os.path.join(directory, "spool.db")


def stored_ids(client: assistant_db.Client) -> list:
    return [row["id"] for row in client.iter_interactions(page_size=1000)]


def test_log_flush_and_stats(target: Target, tmp_path) -> None:
    with Logger(target.client, spool_path=spool(str(tmp_path)), flush_interval=0.05) as logger:
        ids = [str(uuid.uuid4()) for _ in range(30)]
        for n, id in enumerate(ids[:10]):
            logger.log(interaction(n, id=id))
        logger.log_many([interaction(n, id=id) for n, id in enumerate(ids[10:20], 10)])
        for n, id in enumerate(ids[20:], 20):
            logger.log_nowait(interaction(n, id=id))
        logger.flush(60)
        stats = logger.stats()
        assert stats["logged"] == 30 and stats["stored"] == 30 and stats["depth"] == 0
    assert sorted(stored_ids(target.client)) == sorted(ids)
    # Shut down by the `with` block: the handle refuses further records.
    with pytest.raises(assistant_db.UnavailableError, match="shut down"):
        logger.log(interaction(99))


def test_escalations_travel_with_their_interaction(target: Target, tmp_path) -> None:
    record = interaction(1, outcome="escalated")
    record["escalations"] = [
        {"trigger_type": "human_only", "escalation_reason": "closure"},
        {"trigger_type": "low_confidence", "escalation_reason": "0.2"},
    ]
    with Logger(target.client, spool_path=spool(str(tmp_path)), flush_interval=0.05) as logger:
        logger.log(record)
        logger.log_nowait({**interaction(2, outcome="escalated"), "escalations": [record["escalations"][0]]})
        logger.flush(60)
    rows = {r["session_id"]: r["id"] for r in target.client.iter_interactions()}
    first = target.client.interaction(rows["conv_test_00001"])
    assert sorted(e["trigger_type"] for e in first["escalations"]) == ["human_only", "low_confidence"]
    assert len(target.client.interaction(rows["conv_test_00002"])["escalations"]) == 1


def test_bad_records_are_refused_before_they_are_spooled(target: Target, tmp_path) -> None:
    with Logger(target.client, spool_path=spool(str(tmp_path))) as logger:
        with pytest.raises(assistant_db.ValidationError) as raised:
            logger.log_many([interaction(1), interaction(2), interaction(3, confidence_score=-1)])
        assert raised.value.field == "records[2].confidence_score"
        with pytest.raises(assistant_db.ValidationError) as raised:
            logger.log({**interaction(4), "escalations": [{"trigger_type": "x"}]})
        assert raised.value.field == "escalations[0].escalation_reason"
        with pytest.raises(assistant_db.ValidationError) as raised:
            logger.log_nowait(interaction(5, outcome=None))
        assert raised.value.field == "outcome"
        assert logger.stats()["logged"] == 0
        with pytest.raises(assistant_db.ValidationError) as raised:
            Logger(target.client, spool_path=spool(str(tmp_path)) + "2", flush_interval=-1)
        assert raised.value.field == "flush_interval"


def test_logging_through_a_database_restart_loses_nothing(harness: Harness, database_url: str, tmp_path) -> None:
    client = assistant_db.Client(database_url)
    logger = Logger(client, spool_path=spool(str(tmp_path)), flush_interval=0.05)
    ids = [str(uuid.uuid4()) for _ in range(1500)]
    errors = []

    def write(chunk) -> None:
        try:
            for n, id in chunk:
                logger.log(interaction(n, id=id))
        except Exception as e:  # reported below
            errors.append(e)

    numbered = list(enumerate(ids))
    before = threading.Thread(target=write, args=(numbered[:500],))
    before.start()
    before.join()
    harness.ask("stop")
    try:
        # Logged while the database is down: `log` still returns once on disk.
        during = [threading.Thread(target=write, args=(numbered[500:1000][i::4],)) for i in range(4)]
        for t in during:
            t.start()
        for t in during:
            t.join()
        time.sleep(1)
        assert logger.stats()["depth"] > 0
    finally:
        harness.ask("start")
    write(numbered[1000:])
    assert errors == []
    logger.flush(120)
    stats = logger.stats()
    logger.shutdown(10)
    assert stats["stored"] == len(ids)
    assert stats["retried"] >= 1
    stored = stored_ids(assistant_db.Client(database_url))
    assert len(stored) == len(ids)  # each exactly once
    assert set(stored) == set(ids)


def test_an_open_logger_is_flushed_at_interpreter_exit(database_url: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        result = run_script(
            "log_and_exit.py", {"DATABASE_URL": database_url}, spool(directory), "300"
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "handed 300 records to log_nowait"
    assert assistant_db.Client(database_url).metrics()["total_interactions"] == 300


def test_a_forked_child_is_told_to_make_its_own_client(database_url: str) -> None:
    client = assistant_db.Client(database_url)
    client.test_connection()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what the call raised, then leave at once
        try:
            client.test_connection()
            message = "no error"
        except RuntimeError as e:
            message = str(e)
        os.write(write, message.encode()[:500])
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    message = os.read(read, 1000).decode()
    os.close(read)
    assert "before a fork" in message or "before it forked" in message, message
