"""Settings of managed databases (hosting/dbserver.py, sites/databases.py; README: Databases).

A module of its own because settings.py is at its size limit; settings.py imports everything here.
"""
from __future__ import annotations

from core.env import env_int, env_str

# Each database gets a /27 of this pool as its private network on its host (not the site networks').
DATABASE_SUBNET_POOL = env_str("DATABASE_SUBNET_POOL", "10.215.0.0/16")
DATABASE_SERVER_MEMORY_MB = env_int("DATABASE_SERVER_MEMORY_MB", 512)  # each host's PostgreSQL container
DATABASE_SERVER_CONNECTIONS = env_int("DATABASE_SERVER_CONNECTIONS", 300)
DATABASE_SIZE_CHECK_SECONDS = env_int("DATABASE_SIZE_CHECK_SECONDS", 60)

DATABASE_BEAT_SCHEDULE = {
    "check-database-sizes": {"task": "sites.check_database_sizes", "schedule": float(DATABASE_SIZE_CHECK_SECONDS)},
}
