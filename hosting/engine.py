"""The container engine: the only code in the platform that talks to a Docker daemon."""
from __future__ import annotations

from dataclasses import dataclass

import docker
import docker.errors
import requests.exceptions

from hosting.errors import PlatformError, TransientError


@dataclass(frozen=True)
class DaemonCapacity:
    """What a host's Docker daemon reports about the machine it runs on."""

    cpus: int
    memory_mb: int
    docker_version: str
    kernel_version: str
    operating_system: str


class DockerUnavailable(TransientError):
    """The Docker daemon does not answer (not started, restarting, or the socket is wrong)."""


class ContainerEngine:
    """Talks to one Docker daemon (DOCKER_HOST, else the local socket)."""

    def __init__(self, base_url: str | None = None, timeout: int = 30) -> None:
        self._base_url = base_url
        self._timeout = timeout
        self._client: docker.DockerClient | None = None

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            try:
                if self._base_url:
                    self._client = docker.DockerClient(base_url=self._base_url, timeout=self._timeout)
                else:
                    self._client = docker.from_env(timeout=self._timeout)
            except docker.errors.DockerException as exc:
                raise DockerUnavailable(f"The Docker daemon does not answer: {exc}") from None
        return self._client

    def capacity(self) -> DaemonCapacity:
        try:
            info = self.client.info()
        except (docker.errors.DockerException, requests.exceptions.ConnectionError) as exc:
            raise DockerUnavailable(f"The Docker daemon does not answer: {exc}") from None
        try:
            return DaemonCapacity(
                cpus=int(info["NCPU"]),
                memory_mb=int(info["MemTotal"]) // (1024 * 1024),
                docker_version=str(info.get("ServerVersion", "")),
                kernel_version=str(info.get("KernelVersion", "")),
                operating_system=str(info.get("OperatingSystem", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PlatformError(f"The Docker daemon's info lacks the machine's capacity ({exc}).") from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
