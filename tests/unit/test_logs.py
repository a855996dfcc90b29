"""Log lines carry the structured fields given with `extra=` (site, deployment, host, organization),
as key=value in text and as one JSON object per line with LOG_FORMAT=json, in Django's processes and
in Celery's workers alike."""
from __future__ import annotations

import json
import logging
import logging.config
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from config.celery import app
from core.logs import JSONFormatter, TextFormatter, logging_config

BASE_DIR = Path(__file__).resolve().parents[2]


def record(message: str = "deployment failed: %s", *args, **extra) -> logging.LogRecord:
    made = logging.LogRecord("sites.deploys", logging.WARNING, __file__, 1, message, args or ("boom",), None)
    made.__dict__.update(extra)
    return made


def test_it_appends_the_fields_as_key_value_in_text():
    line = TextFormatter().format(record(site="blog", deployment=12, host="h1"))

    assert line.endswith("WARNING sites.deploys deployment failed: boom site=blog deployment=12 host=h1")
    assert "\n" not in line


def test_it_quotes_a_text_value_that_would_not_read_back():
    line = TextFormatter().format(record(organization="acme corp", site='a"b'))

    assert line.endswith('site="a\\"b" organization="acme corp"')


def test_it_writes_one_json_object_per_event():
    line = JSONFormatter().format(record(site="blog", deployment=12, host="h1", organization="acme"))

    event = json.loads(line)
    assert event["message"] == "deployment failed: boom" and event["level"] == "WARNING"
    assert event["logger"] == "sites.deploys" and event["time"].endswith("+00:00")
    assert {k: event[k] for k in ("site", "deployment", "host", "organization")} == {
        "site": "blog", "deployment": 12, "host": "h1", "organization": "acme"}


def test_it_keeps_a_traceback_inside_the_json_line():
    try:
        raise RuntimeError("crashed")
    except RuntimeError:
        crashed = logging.LogRecord("sites.tasks", logging.ERROR, __file__, 1, "step crashed", (), sys.exc_info())
    line = JSONFormatter().format(crashed)

    assert "\n" not in line and "RuntimeError: crashed" in json.loads(line)["exception"]


@pytest.fixture
def restore_logging():
    yield
    app.log.already_setup = False
    logging.config.dictConfig(django_settings.LOGGING)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_celery_worker_logs_through_the_platforms_formatter(log_format, settings, capsys, restore_logging):
    settings.LOGGING = logging_config(log_format, "INFO")
    # What a worker, an agent and beat do when they start: Celery sets up logging (unless told not to).
    app.log.already_setup = False
    app.log.setup_logging_subsystem(loglevel="INFO", colorize=False)

    logging.getLogger("hosting.agent").warning("heartbeat skipped", extra={"host": "h1"})

    line = capsys.readouterr().err.strip().splitlines()[-1]
    if log_format == "json":
        assert json.loads(line)["host"] == "h1"
    else:
        assert line.endswith("WARNING hosting.agent heartbeat skipped host=h1")


def manage(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "DATA_DIR": str(tmp_path / "data"), **env})


def test_the_setting_reaches_every_process_started_with_it(tmp_path):
    emit = "import logging; logging.getLogger('sites.deploys').warning('went live', extra={'site': 'blog'})"

    result = manage(tmp_path, "shell", "-c", emit, LOG_FORMAT="json")

    event = json.loads(result.stderr.strip().splitlines()[-1])
    assert (event["message"], event["site"]) == ("went live", "blog")


def test_it_names_the_setting_when_its_value_is_unknown(tmp_path):
    result = manage(tmp_path, "check", LOG_FORMAT="xml")

    assert result.returncode != 0 and "LOG_FORMAT must be one of json, text, not 'xml'" in result.stderr
