"""What each call costs from Python: assistant_db beside the spec's wrapper, same server.

Run by ``cargo bench -p assistant-db-pytest --bench python``, which builds the package
(release), starts a throwaway PostgreSQL, postrust in front of it and a pass-through proxy
that serves it under ``/rest/v1`` as a Supabase project does, and passes them here:

    BENCH_DATABASE_URL   direct PostgreSQL
    BENCH_SUPABASE_URL   the proxy (Supabase-style project URL)
    BENCH_SERVICE_KEY    the secret key
    BENCH_ROWS           rows per per-row measure (default 1000)
    BENCH_LOGGED         records per logger measure (default 20000)

Prints one line per measure: interactions per second, and the median and 99th percentile
of one call where calls are timed one by one. The spec's wrapper is
``crates/assistant-db/benches/spec_pattern/supabase_client.py`` (its methods as the spec
wrote them); every row is the same interaction (a 600-character answer, one citation).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable, Dict, List

SPEC = Path(__file__).resolve().parents[2] / "crates" / "assistant-db" / "benches" / "spec_pattern"
sys.path.insert(0, str(SPEC))

from insert_loop import interaction  # noqa: E402  the spec benchmark's row

import assistant_db  # noqa: E402
from assistant_db import Client, Logger, SupabaseClient  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "1000"))
LOGGED = int(os.environ.get("BENCH_LOGGED", "20000"))
DATABASE_URL = os.environ["BENCH_DATABASE_URL"]
SUPABASE_URL = os.environ["BENCH_SUPABASE_URL"]
KEY = os.environ["BENCH_SERVICE_KEY"]


def row(n: int) -> Dict:
    record = interaction(n)
    record["id"] = str(uuid.uuid4())
    return record


def report(label: str, count: int, seconds: float, calls: List[float] = ()) -> None:
    line = f"{label:<62} {count / seconds:>9,.0f} interactions/s"
    if calls:
        ordered = sorted(calls)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        line += f"   p50 {statistics.median(ordered) * 1e3:7.2f} ms   p99 {p99 * 1e3:7.2f} ms"
    print(line, flush=True)


def per_row(label: str, insert: Callable[[Dict], object]) -> None:
    """``ROWS`` sequential inserts after one warm-up; each must return an id."""
    assert insert(row(-1)) is not None, f"{label}: the warm-up insert failed"
    rows = [row(n) for n in range(ROWS)]
    calls = []
    start = time.perf_counter()
    for r in rows:
        t = time.perf_counter()
        if insert(r) is None:
            raise SystemExit(f"{label}: an insert returned no id")
        calls.append(time.perf_counter() - t)
    report(label, ROWS, time.perf_counter() - start, calls)


def logger_end_to_end(label: str, client: Client, how: str) -> None:
    """``LOGGED`` records into a new spool until the database stored every one."""
    with tempfile.TemporaryDirectory() as directory:
        logger = Logger(client, spool_path=os.path.join(directory, "spool.db"))
        rows = [row(n) for n in range(LOGGED)]
        calls = []
        start = time.perf_counter()
        if how == "log_nowait":
            for r in rows:
                t = time.perf_counter()
                logger.log_nowait(r)
                calls.append(time.perf_counter() - t)
        elif how == "log":
            for r in rows[: LOGGED // 10]:
                t = time.perf_counter()
                logger.log(r)
                calls.append(time.perf_counter() - t)
            rows = rows[: LOGGED // 10]
        else:
            for i in range(0, len(rows), 500):
                logger.log_many(rows[i : i + 500])
        handed = time.perf_counter() - start
        logger.flush(600)
        seconds = time.perf_counter() - start
        stats = logger.stats()
        logger.shutdown(60)
        assert stats["stored"] == len(rows), stats
        report(f"{label} (calls done in {handed:.2f} s)", len(rows), seconds, calls)


def main() -> None:
    print(f"per-row inserts: {ROWS} sequential calls; logger: {LOGGED} records (log: {LOGGED // 10})")
    print("-- over REST (postrust behind a /rest/v1 proxy, secret key)")
    os.environ.update({"SUPABASE_URL": SUPABASE_URL, "SUPABASE_KEY": KEY})
    os.environ.pop("DATABASE_URL", None)
    from supabase_client import SupabaseClient as SpecClient  # supabase-py, as the spec wrote it

    spec = SpecClient()
    assert spec.test_connection()
    per_row("spec's wrapper (supabase-py) insert_interaction", spec.insert_interaction)
    dropin = SupabaseClient()
    assert dropin.test_connection()
    per_row("assistant_db SupabaseClient.insert_interaction (drop-in)", dropin.insert_interaction)
    rest = Client(supabase_url=SUPABASE_URL, supabase_key=KEY)
    per_row("assistant_db Client.insert_interaction", rest.insert_interaction)
    for how in ("log", "log_nowait", "log_many"):
        logger_end_to_end(f"assistant_db Logger.{how}, end to end", rest, how)

    print("-- direct PostgreSQL (same server)")
    direct = Client(DATABASE_URL)
    os.environ["DATABASE_URL"] = DATABASE_URL
    dropin = SupabaseClient()
    assert dropin.test_connection()
    per_row("assistant_db SupabaseClient.insert_interaction (drop-in)", dropin.insert_interaction)
    per_row("assistant_db Client.insert_interaction", direct.insert_interaction)
    for how in ("log", "log_nowait", "log_many"):
        logger_end_to_end(f"assistant_db Logger.{how}, end to end", direct, how)
    print(f"assistant_db {assistant_db.__version__}, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
