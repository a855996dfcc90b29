"""`make install-services`: the platform as systemd services that start at boot.

    python -m launcher.install_services [--unit-dir DIR] [--env-file PATH] [--daemon-json PATH] [--no-enable]

Writes the units (launcher.systemd), the env file they read (when missing), Docker's daemon.json
with live-restore, and, where systemd runs (PID 1), enables and starts hosting.target.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from launcher import Abort, fail, say
from core.data_dir import platform_account
from launcher.stack import BASE_DIR
from launcher.systemd import DOCKER, HEADER, PLATFORM_TARGET, Installation, render_units

UNIT_DIR = Path("/etc/systemd/system")
ENV_FILE = Path("/etc/hosting/hosting.env")
DAEMON_JSON = Path("/etc/docker/daemon.json")
DEFAULT_DATA_DIR = "/var/lib/hosting"
# Debian's own services of packages the platform runs itself, enabled by their packages (scripts/
# install.sh only keeps them from starting at install): the edge and hosting-redis replace them,
# and Debian's nginx would take port 80 from the edge at the next boot.
DISTRO_SERVICES = ("nginx.service", "redis-server.service")

ENV_TEMPLATE = """\
# The hosting platform's settings for its systemd services (README: Production install, Configuration).
# Read by systemd for every hosting-*.service. After a change: systemctl restart hosting-control.target
# (and hosting-edge for the edge's own settings; after a change of DATA_DIR, PLATFORM_USER or
# REDIS_URL: make install-services).
# HOME, USER and DOCKER_HOST are set per unit; do not set them here.
DATA_DIR={data_dir}
PLATFORM_USER={platform_user}
# SECRET_KEY, FERNET_KEY and METRICS_TOKEN (the bearer token of /metrics) are generated once into
# $DATA_DIR/secrets (0600) unless set here.

# Production: the portal, API and git over HTTPS through the edge, on the standard ports.
#PLATFORM_DOMAIN=example.com
#PLATFORM_HTTPS=1
#PROXY_LISTEN_ADDRESS=0.0.0.0
#PROXY_HTTP_PORT=80
#PROXY_HTTPS_PORT=443
#NUM_PROXIES=1
#ACME_DIRECTORY_URL=https://acme-v02.api.letsencrypt.org/directory
#ACME_EMAIL=ops@example.com
#CLOUDFLARE_API_TOKEN=
#DATABASE_URL=postgres://hosting:password@127.0.0.1:5432/hosting
#REDIS_URL=redis://10.0.0.2:6379/0
"""


def write_env_file_if_missing(path: Path) -> bool:
    """The env file with its defaults, root's alone (0600): it may hold database passwords and API
    tokens. An existing one is the operator's and is never touched."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    # The user scripts/install.sh just made (PLATFORM_USER, as for `make run`).
    platform_user = os.environ.get("PLATFORM_USER") or "hosting"
    _write_atomically(path, ENV_TEMPLATE.format(data_dir=DEFAULT_DATA_DIR, platform_user=platform_user), 0o600)
    return True


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as systemd reads them (comments and blank lines skipped, one pair of quotes
    around a value removed)."""
    env = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith(("#", ";")):
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            env[key.strip()] = value
    return env


def enable_live_restore(path: Path) -> bool:
    """Docker's daemon.json with "live-restore": true, other keys kept, so site containers keep
    running while dockerd restarts or is upgraded. True when the file changed."""
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        config = {}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Abort(f"{path} is not valid JSON ({exc}); fix it (it must be a JSON object), then run this again "
                    f"to add \"live-restore\": true.") from None
    if not isinstance(config, dict):
        raise Abort(f"{path} is not a JSON object; fix it, then run this again to add \"live-restore\": true.")
    if config.get("live-restore") is True:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(path, json.dumps({**config, "live-restore": True}, indent=2) + "\n",
                      path.stat().st_mode & 0o777 if path.exists() else 0o644)
    return True


def write_units(unit_dir: Path, units: dict[str, str]) -> list[str]:
    """Write the units (0644) and remove the ones an earlier install generated that are gone now
    (a process removed from the Procfile, Redis once REDIS_URL is set); returns what changed."""
    unit_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in units.items():
        path = unit_dir / name
        if not path.exists() or path.read_text() != text:
            _write_atomically(path, text, 0o644)
            changed.append(name)
    for path in unit_dir.glob("hosting*"):
        if path.name not in units and path.is_file() and path.read_text().startswith(HEADER):
            path.unlink()
            changed.append(path.name)
    return changed


def _write_atomically(path: Path, text: str, mode: int) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), mode)
            f.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def systemd_is_running() -> bool:
    return Path("/run/systemd/system").is_dir()  # as sd_booted() asks


def dockerd_has_live_restore_flag(proc: Path = Path("/proc")) -> bool:
    """A running dockerd was started with --live-restore (make run's machines, or DOCKER_OPTS): the
    same setting in daemon.json as well would make it refuse to start the next time."""
    for cmdline in proc.glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        if Path(argv[0].decode(errors="replace")).name == "dockerd" and b"--live-restore" in argv:
            return True
    return False


def write_installed_units(unit_dir: Path, env_file: Path) -> list[str]:
    """Render the units for this checkout and the settings in `env_file`, and write them (see
    write_units); also what `make upgrade` does, since the Procfile's commands change with the code."""
    env = read_env_file(env_file)
    installation = Installation(BASE_DIR, env_file, Path(env.get("DATA_DIR") or DEFAULT_DATA_DIR),
                                platform_account(env.get("PLATFORM_USER") or "hosting"), managed_redis=not env.get("REDIS_URL"))
    return write_units(unit_dir, render_units(installation))


def install(unit_dir: Path, env_file: Path, daemon_json: Path, enable: bool) -> None:
    if dockerd_has_live_restore_flag():
        say(f"dockerd runs with --live-restore already: {daemon_json} is left as it is")
        docker_changed = False
    else:  # first: a daemon.json it refuses stops everything
        docker_changed = enable_live_restore(daemon_json)
    if docker_changed:
        say(f"Turned on Docker's live-restore in {daemon_json}")
    if write_env_file_if_missing(env_file):
        say(f"Wrote {env_file} (0600): put the production settings there (README: Production install)")
    changed = write_installed_units(unit_dir, env_file)
    say(f"Units in {unit_dir}: {', '.join(changed) or 'unchanged'}")
    if not systemd_is_running():
        say(f"systemd is not running here (it is not PID 1): the units were written to {unit_dir} but not started.")
        return
    systemctl("daemon-reload")
    if docker_changed and subprocess.run(["systemctl", "is-active", "--quiet", DOCKER]).returncode == 0:
        systemctl("reload", DOCKER)  # live-restore is one of dockerd's reloadable options: no container stops
    if enable:
        _start()


def _start() -> None:
    for service in DISTRO_SERVICES:
        if subprocess.run(["systemctl", "is-enabled", "--quiet", service]).returncode == 0:
            systemctl("disable", "--now", service)
            say(f"Disabled Debian's {service}: the platform runs its own")
    systemctl("enable", "--now", PLATFORM_TARGET)
    say(f"Started {PLATFORM_TARGET}; its state: systemctl status 'hosting-*'; logs: journalctl -u 'hosting-*'")


def systemctl(*arguments: str) -> None:
    """Run systemctl; its error becomes the operator's one sentence."""
    result = subprocess.run(["systemctl", *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        raise Abort(f"systemctl {' '.join(arguments)} failed: {result.stderr.strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m launcher.install_services",
                                     description="Write the units, the env file and daemon.json; enable and start them.")
    parser.add_argument("--unit-dir", type=Path, default=UNIT_DIR)
    parser.add_argument("--env-file", type=Path, default=ENV_FILE)
    parser.add_argument("--daemon-json", type=Path, default=DAEMON_JSON)
    parser.add_argument("--no-enable", dest="enable", action="store_false",
                        help="write and reload only; do not enable or start hosting.target")
    arguments = parser.parse_args(argv)
    try:
        install(arguments.unit_dir, arguments.env_file, arguments.daemon_json, arguments.enable)
    except Abort as exc:
        fail(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
