"""What every app may use: the platform's errors, the task base class and queue routing, Redis,
one subprocess runner, health checks. It imports none of the apps."""
