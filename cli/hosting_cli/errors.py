"""What went wrong, as an exit code scripts can rely on (the README lists them)."""
from __future__ import annotations

OK = 0
FAILED = 1          # the platform refused (bad input, a failed deployment), or anything else
USAGE = 2           # the command line is wrong (argparse's own code too)
NOT_LOGGED_IN = 3   # no token, or the platform refused it (401)
NOT_FOUND = 4       # no such site, domain, token... (404; another organization's object is one too)
FORBIDDEN = 5       # your role may not do this, or the organization is suspended (403)
UNAVAILABLE = 6     # the platform cannot be reached, is busy (429) or failed (5xx): try again later
INTERRUPTED = 130   # Ctrl-C


class CliError(Exception):
    """A message for the person at the terminal and the exit code for their scripts."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
