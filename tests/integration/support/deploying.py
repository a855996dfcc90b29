"""Customers, git and the API: deploying sites through the running platform."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

APPS = Path(__file__).resolve().parents[2] / "apps"


@dataclass
class Platform:
    portal: str
    edge_port: int
    data_dir: Path
    processes: Mapping  # name -> process (launcher.supervisor.Supervisor)
    https_port: int = 0
    env: dict = field(default_factory=dict)  # the environment its processes run with

    def edge_get(self, hostname: str, path: str = "/", **kwargs):
        return requests.get(f"http://127.0.0.1:{self.edge_port}{path}", headers={"Host": hostname}, timeout=10, **kwargs)

    def output(self, name: str) -> str:
        return self.processes[name].output()


@dataclass(frozen=True)
class EdgePorts:
    portal: int
    http: int
    https: int
    log_relay: int  # the agents' log relay (LOG_RELAY_PORT)


@dataclass
class Customer:
    """A member of an organization with an API token."""

    email: str
    token: str
    organization: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def seed_plans(Plan) -> None:
    # Transactional tests flush tables, including rows the migrations seeded.
    Plan.objects.get_or_create(name="starter", defaults=dict(
        label="Starter", memory_mb=256, cpu_millicores=250, pids_limit=128, disk_mb=256, tmp_mb=32, max_sites=10,
        max_custom_domains=2, max_push_mb=100, build_timeout_seconds=600, is_default=True))


def git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1",
           "HOME": str(cwd)}
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        pytest.fail(f"git {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def push_url(platform: Platform, customer: Customer, site: str) -> str:
    host = platform.portal.removeprefix("http://")
    return f"http://user:{customer.token}@{host}/git/{site}.git"


def api(platform, customer, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{platform.portal}/api/v1/{path}", headers=customer.headers(), timeout=60, **kwargs)


def create_site(deploy_env, name_prefix: str, **fields) -> str:
    platform, customers, created = deploy_env
    name = f"{name_prefix}-{uuid.uuid4().hex[:6]}"
    response = api(platform, customers["owner"], "POST", "sites/", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    created.append(name)
    return name


def workdir_with(tmp_path: Path, app: str | None, files: dict[str, str] | None = None) -> Path:
    work = tmp_path / f"repo-{time.monotonic_ns()}"
    if app:
        shutil.copytree(APPS / app, work)
    else:
        work.mkdir()
    for relative, content in (files or {}).items():
        (work / relative).parent.mkdir(parents=True, exist_ok=True)
        (work / relative).write_text(content)
    git("init", "-q", "-b", "main", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "deploy", cwd=work)
    return work


def commit_all(work: Path, message: str) -> None:
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", message, cwd=work)


def push(deploy_env, work: Path, site: str, customer: str = "owner", check: bool = True):
    platform, customers, _ = deploy_env
    return git("push", "-q", push_url(platform, customers[customer], site), "HEAD:main", cwd=work, check=check)


def served(platform, site: str, path: str = "/") -> requests.Response:
    return platform.edge_get(f"{site}.apps.localhost", path)


def finished_deployment(platform, customer, site: str, deployment_id: int, timeout: float = 60) -> dict:
    """Wait until the deployment ends (succeeded or failed); returns it with its log."""
    from tests.integration.support.processes import wait_for

    def detail():
        body = api(platform, customer, "GET", f"sites/{site}/deployments/{deployment_id}/").json()
        return body if body["state"] in ("succeeded", "failed") else None

    return wait_for(detail, timeout, f"deployment {deployment_id} of {site} to end")
