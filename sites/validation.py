"""Allowlists for everything a customer types before it reaches git, Docker, nginx or a shell."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from core.names import is_dns_label, is_env_key
from sites import cron

SITE_NAME_LENGTH = (3, 40)
RESERVED_SITE_NAMES = {"www", "api", "admin", "git", "portal", "static", "mail", "status", "edge", "app", "apps"}
# Set by the platform itself; a customer value would break the container contract.
RESERVED_ENV_KEYS = {"PORT", "HOME", "PATH", "DYNO"}
MAX_ENV_VALUE = 32 * 1024
PROCESS_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,29}$")
MAX_PROCFILE_COMMAND = 2000
WRITABLE_PATH_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$")
MAX_WRITABLE_PATHS = 10
# A path and optional query the platform requests before a release goes live: printable URL characters only.
HEALTH_CHECK_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$")
MAX_HEALTH_CHECK_PATH = 200
DEPLOY_BRANCHES = ("refs/heads/main", "refs/heads/master")
MAX_CRON_ENTRIES = 50  # hosting.toml's [[cron]]; the plan's max_scheduled_jobs decides how many run


def validate_site_name(name: str) -> str:
    if not is_dns_label(name, SITE_NAME_LENGTH[1]) or len(name) < SITE_NAME_LENGTH[0] or not name[0].isalpha():
        raise ValidationError(
            f"{name!r} is not a valid site name: 3 to 40 lowercase letters, digits and hyphens, starting with a "
            "letter and not ending with a hyphen."
        )
    if name in RESERVED_SITE_NAMES:
        raise ValidationError(f"{name!r} is reserved; choose another name.")
    return name


def validate_env_key(key: str) -> str:
    if not is_env_key(key):
        raise ValidationError(
            f"{key!r} is not a valid variable name: letters, digits and underscores, not starting with a digit."
        )
    if key in RESERVED_ENV_KEYS:
        raise ValidationError(f"{key} is set by the platform and cannot be changed.")
    return key


def validate_env_value(key: str, value: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"The value of {key} must be a string.")
    if "\x00" in value:
        raise ValidationError(f"The value of {key} contains a NUL character.")
    if len(value.encode()) > MAX_ENV_VALUE:
        raise ValidationError(f"The value of {key} is longer than {MAX_ENV_VALUE // 1024} KB.")
    return value


def validate_writable_path(path: str) -> str:
    """A relative path under /app made of plain names: `uploads`, `wp-content/uploads`."""
    if not isinstance(path, str):
        raise ValidationError("A writable path must be a string.")
    parts = path.strip("/").split("/")
    if not path.strip("/") or len(parts) > 8 or not all(WRITABLE_PATH_PART.match(p) for p in parts) or ".." in parts:
        raise ValidationError(
            f"{path!r} is not a valid writable path: a relative path under the app of plain names, like "
            "'uploads' or 'wp-content/uploads'."
        )
    return "/".join(parts)


def validate_writable_paths(paths: list) -> list[str]:
    if not isinstance(paths, list):
        raise ValidationError("writable_paths must be a list of paths.")
    if len(paths) > MAX_WRITABLE_PATHS:
        raise ValidationError(f"At most {MAX_WRITABLE_PATHS} writable paths.")
    cleaned = sorted({validate_writable_path(p) for p in paths})
    for a in cleaned:
        for b in cleaned:
            if a != b and b.startswith(a + "/"):
                raise ValidationError(f"Writable paths {a!r} and {b!r} overlap.")
    return cleaned


def validate_health_check_path(path: str) -> str:
    """`/healthz`, `/status?full=1`: a path starting with `/` that the platform requests on each new release.
    Empty means none."""
    if not isinstance(path, str):
        raise ValidationError("The health check path must be a string.")
    if path and (len(path) > MAX_HEALTH_CHECK_PATH or not HEALTH_CHECK_PATH.match(path)):
        raise ValidationError(
            f"{path[:MAX_HEALTH_CHECK_PATH]!r} is not a valid health check path: it starts with '/', is at most "
            f"{MAX_HEALTH_CHECK_PATH} characters, and has only letters, digits and URL punctuation (no spaces), "
            "like '/healthz'."
        )
    return path


@dataclass
class AppManifest:
    """What a repository declares about itself: its Procfile and hosting.toml."""

    processes: dict[str, str] = field(default_factory=dict)
    writable_paths: list[str] = field(default_factory=list)
    health_check_path: str = ""
    cron: list[dict[str, str]] = field(default_factory=list)  # [[cron]]: name, schedule, command


def command_is_clean(command: str) -> bool:
    """A command line a tenant's container may run with `bash -c`: one line of printable text
    (tabs allowed), at most MAX_PROCFILE_COMMAND characters. Procfile lines, one-off commands and
    scheduled jobs are held to it."""
    return len(command) <= MAX_PROCFILE_COMMAND and not any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in command)


def validate_command(command) -> str:
    """A one-off command or a scheduled job's command, stripped; ValidationError says what is wrong."""
    if not isinstance(command, str) or not command.strip():
        raise ValidationError("Give a command to run, like `python manage.py migrate`.")
    command = command.strip()
    if not command_is_clean(command):
        raise ValidationError(f"A command is one line of at most {MAX_PROCFILE_COMMAND} characters, without "
                              "control characters.")
    return command


def parse_procfile(text: str) -> dict[str, str]:
    processes: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, command = line.partition(":")
        name, command = name.strip(), command.strip()
        if not sep or not PROCESS_NAME.match(name):
            raise ValidationError(f"Procfile line {number} is not `name: command` with a lowercase process name.")
        if not command:
            raise ValidationError(f"Procfile line {number}: the {name} process has no command.")
        if not command_is_clean(command):
            raise ValidationError(f"Procfile line {number}: the command is too long or contains control characters.")
        if name in processes:
            raise ValidationError(f"Procfile line {number}: the {name} process is declared twice.")
        processes[name] = command
    return processes


def parse_hosting_toml(text: str, manifest: AppManifest) -> AppManifest:
    """hosting.toml at the top level: `writable_paths = ["uploads"]`, `health_check_path = "/healthz"`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"hosting.toml is not valid TOML: {exc}") from None
    unknown = set(data) - {"writable_paths", "health_check_path", "cron"}
    if unknown:
        raise ValidationError(f"hosting.toml has unknown settings: {', '.join(sorted(unknown))}.")
    manifest.writable_paths = validate_writable_paths(data.get("writable_paths", []))
    try:
        manifest.health_check_path = validate_health_check_path(data.get("health_check_path", ""))
    except ValidationError as exc:
        raise ValidationError(f"hosting.toml: {' '.join(exc.messages)}") from None
    manifest.cron = parse_cron_entries(data.get("cron", []))
    return manifest


def validate_job(name, schedule, command) -> dict[str, str]:
    """A scheduled job's name, schedule (normalised cron) and command, or ValidationError."""
    if not isinstance(name, str) or not PROCESS_NAME.match(name):
        raise ValidationError(f"{str(name)[:40]!r} is not a valid job name: up to 30 lowercase letters, digits, "
                              "- and _, starting with a letter.")
    try:
        parsed = cron.parse(schedule)
    except cron.CronError as exc:
        raise ValidationError(f"The schedule of job {name}: {exc}") from None
    return {"name": name, "schedule": parsed.text, "command": validate_command(command)}


def parse_cron_entries(entries) -> list[dict[str, str]]:
    """hosting.toml's `[[cron]]` tables: `name`, `schedule` (cron, UTC) and `command` each."""
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise ValidationError("hosting.toml: cron is a list of [[cron]] tables with name, schedule and command.")
    if len(entries) > MAX_CRON_ENTRIES:
        raise ValidationError(f"hosting.toml: at most {MAX_CRON_ENTRIES} [[cron]] entries.")
    jobs: list[dict[str, str]] = []
    for number, entry in enumerate(entries, 1):
        if set(entry) != {"name", "schedule", "command"}:
            raise ValidationError(f"hosting.toml: [[cron]] entry {number} needs exactly name, schedule and command.")
        try:
            job = validate_job(entry["name"], entry["schedule"], entry["command"])
        except ValidationError as exc:
            raise ValidationError(f"hosting.toml: [[cron]] entry {number}: {' '.join(exc.messages)}") from None
        if any(other["name"] == job["name"] for other in jobs):
            raise ValidationError(f"hosting.toml: the job {job['name']} is declared twice.")
        jobs.append(job)
    return jobs
