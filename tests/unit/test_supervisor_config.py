"""The supervisord config the launcher writes, read back by supervisord's own parser."""
from __future__ import annotations

import shlex

import pytest
from supervisor.datatypes import RestartUnconditionally
from supervisor.options import ServerOptions

from launcher.supervisor import Program, Supervisor


def parsed(tmp_path, programs):
    supervisor = Supervisor(tmp_path / "supervisor", tmp_path / "log", programs)
    supervisor.directory.mkdir()
    supervisor.log_dir.mkdir()
    supervisor.config.write_text(supervisor.render())
    options = ServerOptions()
    options.realize(args=["--configuration", str(supervisor.config)])
    return {group.name: group.process_configs[0] for group in options.process_group_configs}


def test_commands_reach_the_process_as_written_even_with_percent_signs(tmp_path):
    argv = ["sh", "-c", "exec celery worker --hostname edge-${WORKER_NAME:-control}@%h --queues 'a b'"]
    config = parsed(tmp_path, [Program("worker", argv, env={"HOME": "/nonexistent", "USER": "hosting"})])["worker"]
    assert shlex.split(config.command) == argv
    assert config.environment == {"HOME": "/nonexistent", "USER": "hosting"}


def test_every_program_restarts_and_stops_with_its_whole_group(tmp_path):
    configs = parsed(tmp_path, [Program("web", ["gunicorn"]), Program("edge", ["nginx"], stop_signal="QUIT",
                                                                       autostart=False)])
    for config in configs.values():
        assert config.autorestart is RestartUnconditionally and config.startretries >= 10
        assert config.stopasgroup and config.killasgroup
    assert configs["edge"].autostart is False and configs["web"].autostart is True


@pytest.mark.parametrize("value", ['a"b', "a,b", "a%b", "a\nb"])
def test_it_refuses_an_environment_value_it_cannot_quote(tmp_path, value):
    with pytest.raises(ValueError):
        Program("web", ["gunicorn"], env={"HOME": value}).section(tmp_path)
