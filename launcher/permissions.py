"""Which user each of the platform's processes runs as, and with what environment. The data
directory's owners and modes, and the platform user itself, are core.data_dir's."""
from __future__ import annotations

from pathlib import Path

from core.data_dir import Account, relay_socket


def user_env(env: dict[str, str], account: Account, data_dir: Path) -> dict[str, str]:
    """`env` with the account's own HOME and names, so nothing reaches for root's home, and Docker
    only through the agent's read-only relay of site logs (hosting.log_relay)."""
    return {**env, "HOME": account.home, "USER": account.name, "LOGNAME": account.name,
            "DOCKER_HOST": f"unix://{relay_socket(data_dir)}"}
