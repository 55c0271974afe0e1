"""Hands records to log_nowait and exits without shutting the logger down.

Run by test_logger.py: the logger's exit handler must flush them to the database.
Usage: log_and_exit.py SPOOL_PATH COUNT
"""

import sys

from assistant_db import Logger

spool_path, count = sys.argv[1], int(sys.argv[2])
logger = Logger(spool_path=spool_path, flush_interval=5.0, exit_timeout=60)
for n in range(count):
    logger.log_nowait({"assistant_mode": "banker", "user_query": f"q{n}", "outcome": "resolved"})
print(f"handed {count} records to log_nowait")
