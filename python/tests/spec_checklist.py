"""The spec's setup steps 5 and 6 (task 2), with only the import line changed.

Run by test_spec_checklist.py in a fresh interpreter whose environment names the
destination, exactly as the assistant's services are configured.
"""

# from database.supabase_client import get_db_client
from assistant_db import get_db_client

# 5. Test Connection
client = get_db_client()
print("test_connection:", client.test_connection())  # Should return True

# 6. Test Insert
test_data = {
    "assistant_mode": "customer",
    "user_query": "test query",
    "outcome": "resolved",
    "step_1_intent_completed": True
}
interaction_id = client.insert_interaction(test_data)
print(f"Inserted interaction: {interaction_id}")

# Checklist: the client wrapper can query data.
print("total_interactions:", client.get_metrics()["total_interactions"])
