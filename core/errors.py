"""The platform's own exceptions: whose fault it is decides what happens next.

A CustomerError is an expected outcome (bad input, an app that never listens): it is reported to
the customer and never retried. A PlatformError is ours; a TransientError is a platform error
that may pass on its own (a daemon restarting, a lost connection) and is the only kind retried.
"""


class HostingError(Exception):
    """Base of every error the platform raises on purpose; the message is meant for a person."""


class CustomerError(HostingError):
    """The customer's input or app is at fault; they can fix it."""


class PlatformError(HostingError):
    """Something on our side is wrong; an operator has to act."""


class TransientError(PlatformError):
    """A platform error worth retrying: the same call may succeed in a moment."""


class OperatorError(HostingError):
    """An operator's command (make run, make upgrade, a restore) cannot go on: one sentence says why,
    not a traceback (the launcher calls it Abort)."""


class QueueUnavailable(PlatformError):
    """The task queue (Redis) does not answer: an action that needs a task cannot start now."""

    MESSAGE = ("The task queue is unavailable right now, so this action cannot start; nothing was changed "
               "and your sites keep serving. Try again in a minute.")

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)
