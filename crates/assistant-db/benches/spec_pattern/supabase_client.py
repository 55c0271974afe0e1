"""The spec's Supabase client wrapper (task 2, section 3), for the benchmark baseline.

Copied from the spec: `__init__`, `test_connection` and `insert_interaction` have the
spec's bodies unchanged. Only `Config` differs: the spec imports it from the
application's `config` module; here it reads the same two settings from the environment.
The spec's other methods are left out because the benchmark does not call them.
"""

import logging
import os
from typing import Any, Dict, Optional

from supabase import Client, create_client

logger = logging.getLogger(__name__)


class Config:
    """The two settings the wrapper reads, from SUPABASE_URL and SUPABASE_KEY."""

    SUPABASE_URL = os.environ.get("SUPABASE_URL", "")
    SUPABASE_KEY = os.environ.get("SUPABASE_KEY", "")


class SupabaseClient:
    """Wrapper for Supabase client operations."""

    def __init__(self):
        """Initialize Supabase client."""
        self.client: Client = create_client(
            Config.SUPABASE_URL,
            Config.SUPABASE_KEY
        )
        logger.info("Supabase client initialized")

    def test_connection(self) -> bool:
        """Test connection to Supabase."""
        try:
            # Simple query to test connection
            result = self.client.table("interactions").select("id").limit(1).execute()
            logger.info("Supabase connection test successful")
            return True
        except Exception as e:
            logger.error(f"Supabase connection test failed: {e}")
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
            result = self.client.table("interactions").insert(interaction_data).execute()
            if result.data and len(result.data) > 0:
                interaction_id = result.data[0]["id"]
                logger.info(f"Interaction logged: {interaction_id}")
                return interaction_id
            return None
        except Exception as e:
            logger.error(f"Failed to insert interaction: {e}")
            return None
