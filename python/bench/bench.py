"""What each call costs from Python: assistant_db beside the spec's wrapper, same server.

Run by ``cargo bench -p assistant-db-pytest --bench python``, which builds the package
(release), starts a throwaway PostgreSQL, postrust in front of it and a pass-through proxy
that serves it under ``/rest/v1`` as a Supabase project does, and passes them here:

    BENCH_DATABASE_URL   direct PostgreSQL
    BENCH_SUPABASE_URL   the proxy (Supabase-style project URL)
    BENCH_SERVICE_KEY    the secret key
    BENCH_ROWS           rows per per-row measure (default 1000)
    BENCH_ROUNDS         turns the per-row contenders take (default 5)
    BENCH_LOGGED         records per logger measure (default 20000)

Prints one line per measure: interactions per second, and the median and 99th percentile
of one call where calls are timed one by one. The spec's wrapper is
``crates/assistant-db/benches/spec_pattern/supabase_client.py`` (its methods as the spec
wrote them), with supabase-py through the same proxy to the same postrust and database as
the package's REST client, with the same key. Every row is the spec benchmark's
interaction (a 600-character answer, one citation) as an application passes it, without
an ``id``. The per-row contenders of a transport take turns, ``BENCH_ROUNDS`` times
``BENCH_ROWS / BENCH_ROUNDS`` calls each in rotating order, so that other load on the
machine and the table's growth fall on each of them alike.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

ROWS = int(os.environ.get("BENCH_ROWS", "1000"))
ROUNDS = max(1, int(os.environ.get("BENCH_ROUNDS", "5")))
LOGGED = int(os.environ.get("BENCH_LOGGED", "20000"))
DATABASE_URL = os.environ["BENCH_DATABASE_URL"]
SUPABASE_URL = os.environ["BENCH_SUPABASE_URL"]
KEY = os.environ["BENCH_SERVICE_KEY"]

# The spec's wrapper reads SUPABASE_URL and SUPABASE_KEY when its module is first
# imported (its Config's class attributes), and insert_loop imports it: set them first.
os.environ.update({"SUPABASE_URL": SUPABASE_URL, "SUPABASE_KEY": KEY})
os.environ.pop("DATABASE_URL", None)

SPEC = Path(__file__).resolve().parents[2] / "crates" / "assistant-db" / "benches" / "spec_pattern"
sys.path.insert(0, str(SPEC))

from insert_loop import interaction  # noqa: E402  the spec benchmark's row
from supabase_client import SupabaseClient as SpecClient  # noqa: E402  supabase-py, as the spec wrote it

import assistant_db  # noqa: E402
from assistant_db import Client, Logger, SupabaseClient  # noqa: E402


def row(n: int) -> Dict:
    """The spec benchmark's interaction ``n``, as the application passes it (no ``id``)."""
    return interaction(n)


def report(label: str, count: int, seconds: float, calls: List[float] = ()) -> None:
    line = f"{label:<68} {count / seconds:>7,.0f} interactions/s"
    if calls:
        ordered = sorted(calls)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        line += f"   p50 {statistics.median(ordered) * 1e3:7.2f} ms   p99 {p99 * 1e3:7.2f} ms"
    print(line, flush=True)


def per_row(contenders: Sequence[Tuple[str, Callable[[Dict], object]]]) -> None:
    """``ROWS`` sequential inserts for each contender after one warm-up each, taking turns
    in ``ROUNDS`` rounds; every insert must return an id."""
    for label, insert in contenders:
        assert insert(row(-1)) is not None, f"{label}: the warm-up insert failed"
    per_round = max(1, ROWS // ROUNDS)
    calls: Dict[str, List[float]] = {label: [] for label, _ in contenders}
    seconds = {label: 0.0 for label, _ in contenders}
    for turn in range(ROUNDS):
        shift = turn % len(contenders)
        for label, insert in [*contenders[shift:], *contenders[:shift]]:
            rows = [row(turn * per_round + n) for n in range(per_round)]
            start = time.perf_counter()
            for r in rows:
                t = time.perf_counter()
                if insert(r) is None:
                    raise SystemExit(f"{label}: an insert returned no id")
                calls[label].append(time.perf_counter() - t)
            seconds[label] += time.perf_counter() - start
    for label, _ in contenders:
        report(label, len(calls[label]), seconds[label], calls[label])


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


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    print(
        f"per-row inserts: {ROWS} sequential calls each, in {ROUNDS} turns; "
        f"logger: {LOGGED} records (log: {LOGGED // 10}); {os.cpu_count()} CPUs, {load()}"
    )
    print("-- over REST (postrust behind a /rest/v1 proxy, secret key)")
    spec = SpecClient()
    assert spec.test_connection()
    dropin = SupabaseClient()
    assert dropin.test_connection()
    assert dropin.location.endswith("/rest/v1"), dropin.location
    rest = Client(supabase_url=SUPABASE_URL, supabase_key=KEY)
    per_row(
        [
            ("spec's wrapper (supabase-py) insert_interaction", spec.insert_interaction),
            ("assistant_db SupabaseClient.insert_interaction (drop-in)", dropin.insert_interaction),
            ("assistant_db Client.insert_interaction", rest.insert_interaction),
        ]
    )
    for how in ("log", "log_nowait", "log_many"):
        logger_end_to_end(f"assistant_db Logger.{how}, end to end", rest, how)

    print(f"-- direct PostgreSQL (same server, Unix socket); {load()}")
    direct = Client(DATABASE_URL)
    os.environ["DATABASE_URL"] = DATABASE_URL
    dropin = SupabaseClient()
    assert dropin.test_connection()
    assert not dropin.location.endswith("/rest/v1") and not dropin.location.startswith("local"), dropin.location
    per_row(
        [
            ("assistant_db SupabaseClient.insert_interaction (drop-in)", dropin.insert_interaction),
            ("assistant_db Client.insert_interaction", direct.insert_interaction),
        ]
    )
    for how in ("log", "log_nowait", "log_many"):
        logger_end_to_end(f"assistant_db Logger.{how}, end to end", direct, how)
    print(f"assistant_db {assistant_db.__version__}, Python {sys.version.split()[0]}; {load()}")


if __name__ == "__main__":
    main()
