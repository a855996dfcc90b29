"""One log line per event, carrying the platform's structured fields (site, deployment, host,
organization, path) given with `extra=`: as `key=value` pairs after the message, or as one JSON object
per line with LOG_FORMAT=json. Every process uses it: Django's LOGGING names these formatters and the
Celery workers (control, edge worker, agents) and beat keep Django's logging (config.celery)."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

# The fields our code logs with `extra=`; anything else on a record is the logging library's own.
CONTEXT_FIELDS = ("site", "deployment", "host", "organization", "path")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def context_of(record: logging.LogRecord) -> dict[str, object]:
    """The structured fields this record carries, in a fixed order."""
    return {name: getattr(record, name) for name in CONTEXT_FIELDS if getattr(record, name, None) is not None}


def _text_value(value: object) -> str:
    text = str(value)
    # Quoted when it would not read back as one value (a space, a quote, an `=` or nothing).
    if not text or any(c in text for c in ' "=\n'):
        return json.dumps(text)
    return text


class TextFormatter(logging.Formatter):
    """The usual line, then ` site=blog deployment=12` for the fields the record carries."""

    def __init__(self, fmt: str = TEXT_FORMAT, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        line = super().formatMessage(record)
        fields = " ".join(f"{name}={_text_value(value)}" for name, value in context_of(record).items())
        return f"{line} {fields}" if fields else line


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the structured
    fields, and the traceback as a string when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        event.update(context_of(record))
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            event["exception"] = record.exc_text
        if record.stack_info:
            event["stack"] = self.formatStack(record.stack_info)
        return json.dumps(event, default=str)


FORMATTERS = {"text": TextFormatter, "json": JSONFormatter}


def logging_config(log_format: str, level: str) -> dict:
    """Django's LOGGING: every record through one console handler with the chosen formatter."""
    formatter = FORMATTERS[log_format]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"platform": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "platform"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "INFO"}},
    }
