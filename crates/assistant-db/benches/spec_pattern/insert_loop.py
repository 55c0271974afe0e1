"""Benchmark baseline: the spec's pattern, one synchronous REST insert per interaction.

Usage: SUPABASE_URL=... SUPABASE_KEY=... python insert_loop.py N

Tests the connection as the spec's setup does, makes one warm-up insert, then N inserts one after another through the spec's
`SupabaseClient.insert_interaction`, and prints one JSON line:
{"inserted": N, "seconds": S, "per_second": R}
Exits non-zero if any insert returns no id.
"""

import json
import logging
import sys
import time

from supabase_client import SupabaseClient

RESPONSE_TEXT = (
    "To dispute a card charge, open the transaction in the app, choose Dispute, "
    "and tell us what went wrong. "
) * 6
RESPONSE_TEXT = (RESPONSE_TEXT + "x" * 600)[:600]


def interaction(n: int) -> dict:
    """One interaction shaped like the spec's test data, with the other usual fields."""
    return {
        "assistant_mode": "customer",
        "session_id": f"conv_bench_{n:08d}",
        "user_query": f"How do I dispute a card charge from last week? (question {n})",
        "intent_name": "dispute_card_charge",
        "intent_category": "automatable",
        "classification_reason": "Card dispute questions are answered from public docs.",
        "step_1_intent_completed": True,
        "step_2_routing_decision": "knowledge_base",
        "step_3_retrieval_performed": True,
        "step_4_response_generated": True,
        "step_5_confidence_score": 0.91,
        "step_6_escalation_triggered": False,
        "outcome": "resolved",
        "confidence_score": 0.91,
        "response_text": RESPONSE_TEXT,
        "citations": [{"number": 1, "source": "Card disputes", "url": "https://example.com/disputes"}],
        "retrieved_chunks_count": 4,
        "processing_time_ms": 1234,
    }


def main() -> int:
    if len(sys.argv) != 2 or not sys.argv[1].isdigit() or int(sys.argv[1]) < 1:
        print("usage: insert_loop.py N  (N >= 1)", file=sys.stderr)
        return 2
    n = int(sys.argv[1])

    # The wrapper's logger.info calls still run, as in the spec, but print nothing.
    logging.basicConfig(level=logging.WARNING)

    client = SupabaseClient()
    if not client.test_connection():
        print("the connection test failed (see the error above)", file=sys.stderr)
        return 1
    if client.insert_interaction(interaction(-1)) is None:
        print("the warm-up insert returned no id", file=sys.stderr)
        return 1

    missing = 0
    start = time.perf_counter()
    for i in range(n):
        if client.insert_interaction(interaction(i)) is None:
            missing += 1
    seconds = time.perf_counter() - start

    if missing:
        print(f"{missing} of {n} inserts returned no id", file=sys.stderr)
        return 1
    print(json.dumps({"inserted": n, "seconds": seconds, "per_second": n / seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
