"""Give a running supervisord new commands for some of its programs, without touching the others.

`make upgrade` on a `make run` platform: the Procfile's commands may change with the code (the
package split turned `gunicorn hosting.wsgi` into `config.wsgi`), and a restart alone would start
the old command again. The programs' sections in supervisord's config are rewritten in the format
launcher.supervisor renders (only their `command=` when the program exists: its other settings stay
as the launcher wrote them), supervisord rereads the config (reloadConfig), and only the programs
whose section changed, came or went are replaced (removeProcessGroup, addProcessGroup). A program
not named here, such as the edge, keeps running untouched.
"""
from __future__ import annotations

import configparser
import io
import os
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path

from launcher.supervisor import Program, Supervisor

ALREADY_STARTED = 60  # supervisord's xmlrpc Faults.ALREADY_STARTED
STOPPED = ("STOPPED", "EXITED", "FATAL")  # states in which a group may be removed


@dataclass
class ProgramChanges:
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changed or self.added or self.removed)


def _read(text: str) -> configparser.RawConfigParser:
    config = configparser.RawConfigParser(interpolation=None)
    config.optionxform = str  # keys as written
    config.read_string(text)
    return config


def rewrite_config(config_path: Path, log_dir: Path, programs: list[Program], removed: list[str]) -> ProgramChanges:
    """Rewrite `config_path` so that `programs` have their commands and `removed` are gone."""
    config = _read(config_path.read_text())
    changes = ProgramChanges()
    for program in programs:
        section = f"program:{program.name}"
        wanted = _read(program.section(log_dir))[section]
        if not config.has_section(section):
            config[section] = dict(wanted)
            changes.added.append(program.name)
        elif config[section].get("command") != wanted["command"]:
            config[section]["command"] = wanted["command"]
            changes.changed.append(program.name)
    for name in removed:
        if config.remove_section(f"program:{name}"):
            changes.removed.append(name)
    if changes:
        text = io.StringIO()
        config.write(text)
        temporary = config_path.with_name(config_path.name + ".new")
        temporary.write_text(text.getvalue())
        temporary.chmod(0o600)
        os.replace(temporary, config_path)
    return changes


def update_programs(supervisor: Supervisor, programs: list[Program], removed: list[str]) -> ProgramChanges:
    """Apply rewrite_config to the running supervisord; the changed and added programs end up
    stopped-then-started with their new commands, the removed ones stopped and gone."""
    changes = rewrite_config(supervisor.config, supervisor.log_dir, programs, removed)
    if not changes:
        return changes
    rpc = supervisor.rpc.supervisor
    rpc.reloadConfig()  # supervisord compares its config with what runs; nothing starts or stops yet
    for name in changes.changed + changes.removed:
        if supervisor[name].info()["statename"] not in STOPPED:
            rpc.stopProcess(name, True)
        rpc.removeProcessGroup(name)
    supervisor.programs = {**{n: p for n, p in supervisor.programs.items() if n not in changes.removed},
                           **{p.name: p for p in programs if p.name in changes.added}}
    for name in changes.changed + changes.added:
        rpc.addProcessGroup(name)  # starts it when its section says autostart
        try:
            rpc.startProcess(name, False)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode != ALREADY_STARTED:
                raise
        process = supervisor[name]
        process.wait_until(lambda: process.running, timeout=60, what="running with its new command")
    return changes
