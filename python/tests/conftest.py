"""Fixtures: fresh databases and REST servers from the harness, and clients on them.

The suite runs through ``cargo test -p assistant-db-pytest``, which builds the package,
starts a throwaway PostgreSQL and answers the requests below on the loopback address in
``ASSISTANT_DB_TEST_CONTROL`` (see ``python/harness/src/control.rs``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import pytest

import assistant_db

CONTROL_ENV = "ASSISTANT_DB_TEST_CONTROL"
HERE = Path(__file__).parent
# Variables that choose a destination; each test sets its own.
DESTINATION_VARS = ("DATABASE_URL", "SUPABASE_URL", "SUPABASE_KEY", "SUPABASE_REST_URL")


def pytest_sessionstart(session: pytest.Session) -> None:
    if not os.environ.get(CONTROL_ENV):
        raise pytest.UsageError(
            f"{CONTROL_ENV} is not set: these tests need the throwaway servers of the "
            "harness; run them with `cargo test -p assistant-db-pytest`"
        )


class Harness:
    """A line-of-JSON conversation with the harness's control service."""

    def __init__(self, address: str) -> None:
        host, port = address.rsplit(":", 1)
        self._sock = socket.create_connection((host, int(port)), timeout=300)
        self._file = self._sock.makefile("rwb")
        self._lock = threading.Lock()

    def ask(self, op: str) -> Dict[str, Any]:
        with self._lock:
            self._file.write((json.dumps({"op": op}) + "\n").encode())
            self._file.flush()
            line = self._file.readline()
        if not line:
            raise RuntimeError(f"the harness closed the connection during {op!r}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the harness could not {op}: {answer['error']}")
        return answer

    def close(self) -> None:
        self._file.close()
        self._sock.close()


@pytest.fixture(scope="session")
def harness() -> Iterator[Harness]:
    h = Harness(os.environ[CONTROL_ENV])
    yield h
    h.close()


@pytest.fixture
def database_url(harness: Harness) -> str:
    """A new migrated database, reached directly."""
    return harness.ask("database")["database_url"]


@pytest.fixture
def rest(harness: Harness) -> Dict[str, str]:
    """A REST server (postrust) in front of a new migrated database: ``url`` serves the API
    at its root, ``project_url`` under ``/rest/v1`` as a Supabase project does."""
    return harness.ask("rest")


class Target:
    """One destination: the environment that selects it, and a client on it."""

    def __init__(self, transport: str, env: Dict[str, str], owner_url: str) -> None:
        self.transport = transport
        self.env = env
        self.owner_url = owner_url
        self._client: Optional[assistant_db.Client] = None

    @property
    def client(self) -> assistant_db.Client:
        if self._client is None:
            self._client = self.make_client()
        return self._client

    def make_client(self) -> assistant_db.Client:
        if self.transport == "direct":
            return assistant_db.Client(self.env["DATABASE_URL"])
        return assistant_db.Client(
            supabase_rest_url=self.env["SUPABASE_REST_URL"],
            supabase_key=self.env["SUPABASE_KEY"],
        )

    def owner(self) -> assistant_db.Client:
        """A direct client on the same database, for checks beside the transport."""
        return assistant_db.Client(self.owner_url)


@pytest.fixture(params=["direct", "rest"])
def target(request: pytest.FixtureRequest, harness: Harness) -> Target:
    """Each test that takes it runs once per transport (the REST one with the secret key)."""
    if request.param == "direct":
        url = harness.ask("database")["database_url"]
        return Target("direct", {"DATABASE_URL": url}, url)
    server = harness.ask("rest")
    env = {"SUPABASE_REST_URL": server["url"], "SUPABASE_KEY": server["service_key"]}
    return Target("rest", env, server["database_url"])


@pytest.fixture
def home() -> Iterator[str]:
    """A home for the embedded default, stopped and removed afterwards.

    Made under the system's temp directory: as root, the embedded server runs as the
    ``postgres`` user, who cannot enter pytest's private tmp_path."""
    path = tempfile.mkdtemp(prefix="assistant-db-home-")
    yield path
    try:
        assistant_db.stop_embedded(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run_script(script: str, env: Dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Runs ``tests/<script>`` in a fresh interpreter whose destination is ``env`` alone."""
    full = {k: v for k, v in os.environ.items() if k not in DESTINATION_VARS}
    full.update(env)
    return subprocess.run(
        [sys.executable, str(HERE / script), *args],
        env=full,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def interaction(n: int = 0, **fields: Any) -> Dict[str, Any]:
    """An interaction with the usual fields, shaped like the assistant's."""
    record: Dict[str, Any] = {
        "assistant_mode": "customer",
        "session_id": f"conv_test_{n:05d}",
        "user_query": f"How do I dispute a card charge? ({n})",
        "intent_name": "dispute_card_charge",
        "intent_category": "automatable",
        "step_1_intent_completed": True,
        "step_2_routing_decision": "knowledge_base",
        "step_3_retrieval_performed": True,
        "step_4_response_generated": True,
        "step_5_confidence_score": 0.9,
        "outcome": "resolved",
        "confidence_score": 0.9,
        "response_text": "Open the transaction and choose Dispute.",
        "citations": [{"number": 1, "source": "Card disputes", "url": "https://example.com/d"}],
        "retrieved_chunks_count": 3,
        "processing_time_ms": 1200 + n,
    }
    record.update(fields)
    return record
