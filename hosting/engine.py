"""The container engine: the only code in the platform that talks to a Docker daemon.

Every site container is started with the whole container contract of DESIGN.md, every time: a
non-root user, a read-only root, a size-limited /tmp, the slug read-only at /app, the site's
quota-limited /data, no capabilities, no-new-privileges, the default seccomp profile, memory
(with swap equal to memory), CPU and PIDs limits, log rotation, a deterministic name and labels,
the port published on the host's service address only, and the isolated site network.

The spec and its values live in hosting/spec.py, Docker's errors in hosting/engine_errors.py;
both are importable from here too, as the engine's interface. Waiting until a started container
is healthy is hosting/readiness.py.
"""
from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import docker
import docker.errors
import requests.exceptions

from core.errors import PlatformError
from hosting import log_pipes
from hosting.engine_exec import ExecOps
from hosting.engine_networks import NetworkOps
from hosting.engine_errors import ContainerNotFound, DockerUnavailable, ImageMissing, translate
from hosting.spec import (LABEL_HOST, LABEL_MANAGED, LABEL_SITE, ContainerSpec, ContainerState, ContainerStats, DaemonCapacity,
                          OneOffResult, RunningContainer)

MAX_LOG_LINE = 16 * 1024  # longer output without a newline is passed on in pieces
MAX_EXEC_OUTPUT = 256 * 1024  # what a probe inside a tenant's container may hand back, at most


class ContainerEngine(NetworkOps, ExecOps):
    """Talks to one Docker daemon (DOCKER_HOST, else the local socket)."""

    def __init__(self, base_url: str | None = None, timeout: int = 60, version: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        # A host's log relay (hosting/log_access.py) wants a pinned API version and its token on every request.
        self._base_url, self._timeout, self._version, self._headers = base_url, timeout, version, headers or {}
        self._client: docker.DockerClient | None = None

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            try:
                if self._base_url:
                    client = docker.DockerClient(base_url=self._base_url, timeout=self._timeout, version=self._version)
                else:
                    client = docker.from_env(timeout=self._timeout)
                client.api.headers.update(self._headers)
                self._client = client
            except docker.errors.DockerException as exc:
                raise DockerUnavailable(f"The Docker daemon does not answer: {exc}") from None
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> "ContainerEngine":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _call(self, doing: str, fn: Callable, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise translate(exc, doing) from exc

    # --- the daemon ---------------------------------------------------------------------------

    def capacity(self) -> DaemonCapacity:
        info = self._call("reading the daemon's info", lambda: self.client.info())
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

    # --- images -------------------------------------------------------------------------------

    def image_exists(self, tag: str) -> bool:
        return self.image_created(tag) is not None

    def image_created(self, tag: str) -> str | None:
        """When Docker says the image was made (its `Created`, ISO 8601), or None: no such image."""
        try:
            return str(self._call(f"looking up image {tag}", self.client.images.get, tag).attrs.get("Created", ""))
        except ImageMissing:
            return None

    def import_image(self, tarball: Path, tag: str, changes: list[str] | None = None) -> None:
        repository, _, version = tag.rpartition(":")
        self._call(
            f"importing image {tag}",
            self.client.api.import_image_from_file,
            str(tarball), repository=repository, tag=version, changes=changes,
        )
        if not self.image_exists(tag):
            raise PlatformError(f"importing image {tag}: Docker accepted the file but the image is not there.")

    def build_image(self, context: bytes, tag: str, on_line: Callable[[str], None]) -> None:
        """Build from an in-memory tar context; lines of the build go to `on_line`."""
        stream = self._call(
            f"building image {tag}",
            self.client.api.build,
            fileobj=io.BytesIO(context), custom_context=True, tag=tag, rm=True, forcerm=True,
            decode=True, pull=False, labels={LABEL_MANAGED: "true"},
        )
        tail: list[str] = []
        try:
            for chunk in stream:
                if "error" in chunk:
                    raise PlatformError(f"building image {tag} failed: {chunk['error'].strip()} | {' | '.join(tail[-5:])}")
                for line in str(chunk.get("stream", "")).splitlines():
                    if line.strip():
                        tail = (tail + [line.strip()])[-20:]
                        on_line(line.strip())
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise translate(exc, f"building image {tag}") from exc
        if not self.image_exists(tag):
            raise PlatformError(f"building image {tag} ended without an image: {' | '.join(tail[-5:])}")

    # --- containers ---------------------------------------------------------------------------

    def start(self, spec: ContainerSpec) -> ContainerState:
        """Start a site container under the contract; a leftover of the same name is replaced."""
        container = self._create(spec, restart=True)
        try:
            self._call(f"starting container {spec.name}", container.start)
        except PlatformError:
            self.remove(spec.name)
            raise
        state = self.state(spec.name)
        log_pipes.widen(state.id)
        return state

    def run_once(self, spec: ContainerSpec, timeout: float, on_line: Callable[[str], None] | None = None,
                 keep: bool = False) -> OneOffResult:
        """Run a one-off container (a build, a release command, a probe) to its end under the same contract.

        Output lines go to `on_line` as they are printed; a run longer than `timeout` is killed.
        With `keep`, the ended container stays (for `export`) until the caller removes it.
        """
        container = self._create(spec, restart=False)
        try:
            self._call(f"starting container {spec.name}", container.start)
            follower = None
            if on_line is not None:
                follower = threading.Thread(target=self._pump_lines, args=(spec.name, on_line), daemon=True)
                follower.start()
            timed_out = False
            try:
                result = container.wait(timeout=timeout)
                exit_code = result.get("StatusCode")
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout):  # the wait timed out
                timed_out, exit_code = True, None
                self._call(f"stopping container {spec.name}", container.kill)
            if follower is not None:
                follower.join(10)
            state = self.state(spec.name)
            output = self.logs(spec.name, tail=500)
            return OneOffResult(exit_code, state.oom_killed, output, timed_out)
        finally:
            if not keep:
                self.remove(spec.name)

    def export(self, name: str, path: str, consume: Callable[[Iterator[bytes]], None]) -> None:
        """Hand `consume` a tar stream of `path` as the (ended) container sees it.

        The Docker daemon makes the tar inside the container's own filesystem view, so the
        platform never walks a tenant's files on the host nor follows a link a tenant placed.
        `consume` may stop early (raise): the connection is then closed, so that the daemon stops
        too instead of holding the container (and every later call about it) until it is read.
        """
        api = self.client.api
        doing = f"exporting {path} of {name}"
        try:
            # The low-level call, for the response itself: the SDK's stream cannot be closed.
            response = api._get(api._url("/containers/{0}/archive", name), params={"path": path}, stream=True)
            api._raise_for_status(response)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise translate(exc, doing) from exc
        try:
            consume(response.iter_content(chunk_size=1024 * 1024))
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise translate(exc, doing) from exc
        finally:
            response.close()

    def _pump_lines(self, name: str, on_line: Callable[[str], None]) -> None:
        try:
            for line in self.follow_logs(name, tail="all"):  # from the start: no line is lost
                on_line(line)
        except PlatformError:
            pass  # the container is gone: the caller reads the final output itself

    def _create(self, spec: ContainerSpec, restart: bool):
        self.remove(spec.name)
        limits = spec.limits
        mounts = [docker.types.Mount("/app", str(spec.slug_dir), type="bind", read_only=not spec.app_writable)]
        if spec.data_dir is not None:
            mounts.append(docker.types.Mount("/data", str(spec.data_dir), type="bind", read_only=False))
        mounts += [docker.types.Mount(m.target, str(m.source), type="bind", read_only=m.read_only) for m in spec.extra_mounts]
        # The site's uid has no line in the image's /etc/passwd: tools that ask for a user name
        # (Python's getpass, for one) read these first.
        environment = {"USER": "app", "LOGNAME": "app", **spec.env, "PORT": str(spec.container_port), "HOME": "/tmp"}
        container = self._call(
            f"creating container {spec.name}",
            self.client.containers.create,
            spec.image,
            command=list(spec.command),
            name=spec.name,
            hostname=spec.site,
            user=f"{spec.uid}:{spec.uid}",
            environment=environment,
            working_dir="/app",
            labels=spec.all_labels,
            read_only=True,
            tmpfs={"/tmp": f"rw,nosuid,nodev,size={limits.tmp_mb}m,mode=1777"},
            mounts=mounts,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges:true"],
            mem_limit=f"{limits.memory_mb}m",
            memswap_limit=f"{limits.memory_mb}m",
            nano_cpus=limits.cpu_millicores * 1_000_000,
            cpu_shares=max(2, limits.cpu_millicores * 1024 // 1000),
            pids_limit=limits.pids,
            ulimits=[docker.types.Ulimit(name="nofile", soft=4096, hard=8192)],
            log_config=docker.types.LogConfig(type="json-file", config={"max-size": "10m", "max-file": "3"}),
            restart_policy={"Name": "on-failure", "MaximumRetryCount": 5} if restart else {"Name": "no"},
            init=True,
            network=spec.network,
            ports={f"{spec.container_port}/tcp": (spec.service_address, spec.host_port)} if spec.host_port else {},
            healthcheck=_healthcheck(spec),
        )
        for network in spec.extra_networks:  # before it starts: its first connection may be to one of them
            self.connect(network, container.id)
        return container

    def start_existing(self, name: str) -> ContainerState:
        """Start a container that exists but stopped (after a daemon restart), as it was created."""
        container = self._call(f"starting container {name}", self.client.containers.get, name)
        self._call(f"starting container {name}", container.start)
        state = self.state(name)
        log_pipes.widen(state.id)
        return state

    def state(self, name: str) -> ContainerState:
        container = self._call(f"inspecting container {name}", self.client.containers.get, name)
        return _state_of(container)

    def inspect(self, name: str) -> dict:
        """Docker's full inspect document (for staff diagnostics and tests)."""
        return self._call(f"inspecting container {name}", self.client.api.inspect_container, name)

    def stop(self, name: str, timeout: int = 10) -> None:
        try:
            container = self._call(f"stopping container {name}", self.client.containers.get, name)
            self._call(f"stopping container {name}", container.stop, timeout=timeout)
        except ContainerNotFound:
            pass

    def remove(self, name: str) -> None:
        """Remove the container whatever its state; a container that is not there is fine."""
        try:
            container = self._call(f"removing container {name}", self.client.containers.get, name)
            container.remove(force=True)
        except ContainerNotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code in (404, 409):  # gone already, or another worker is removing it
                return
            raise translate(exc, f"removing container {name}") from exc
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise translate(exc, f"removing container {name}") from exc

    def list_site_containers(self, site: str | None = None) -> list[ContainerState]:
        filters = {"label": [f"{LABEL_MANAGED}=true"] + ([f"{LABEL_SITE}={site}"] if site else [])}
        listed = self._call("listing containers", self.client.api.containers, all=True, filters=filters, quiet=True)
        states = []
        for item in listed:
            try:
                container = self._call("listing containers", self.client.containers.get, item["Id"])
            except ContainerNotFound:
                continue  # removed between the listing and its inspection
            if LABEL_SITE in container.labels:
                states.append(_state_of(container))
        return states

    def running_on_host(self, host: str) -> list[RunningContainer]:
        """The running site containers started for `host` (one call to the daemon, no inspects)."""
        filters = {"label": [f"{LABEL_MANAGED}=true", f"{LABEL_HOST}={host}"], "status": "running"}
        listed = self._call("listing running containers", self.client.api.containers, filters=filters)
        return [RunningContainer(id=item["Id"], site=item["Labels"].get(LABEL_SITE, ""),
                                 mounts={m.get("Destination"): m.get("Source") for m in item.get("Mounts") or []})
                for item in listed]

    def logs(self, name: str, tail: int = 100) -> str:
        container = self._call(f"reading logs of {name}", self.client.containers.get, name)
        data = self._call(f"reading logs of {name}", container.logs, tail=tail, stdout=True, stderr=True)
        return data.decode(errors="replace")

    def follow_logs(self, name: str, tail: int | str = 100, opened: Callable[[Any], None] | None = None) -> Iterator[str]:
        """The container's output, line by line, as it comes; `opened` receives the stream, whose
        close() (from another thread) ends a follow that waits for output."""
        container = self._call(f"following logs of {name}", self.client.containers.get, name)
        stream = self._call(f"following logs of {name}", container.logs, stream=True, follow=True, tail=tail)
        if opened is not None:
            opened(stream)
        buffer = b""
        for chunk in stream:
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                yield line.decode(errors="replace")
            if len(buffer) > MAX_LOG_LINE:  # a container printing without newlines cannot fill our memory
                yield buffer[:MAX_LOG_LINE].decode(errors="replace")
                buffer = buffer[MAX_LOG_LINE:]
        if buffer:
            yield buffer.decode(errors="replace")

    def probe_output(self, name: str, command: list[str]) -> str:
        """At most MAX_EXEC_OUTPUT of what a read-only probe printed inside the running container, as
        its own user: the text is the tenant's to shape, so callers parse it strictly."""
        container = self._call(f"probing {name}", self.client.containers.get, name)
        result = self._call(f"probing {name}", container.exec_run, ["head", "-c", str(MAX_EXEC_OUTPUT), *command],
                            stdout=True, stderr=False, demux=False)
        return (result.output or b"")[:MAX_EXEC_OUTPUT].decode("ascii", errors="replace")

    def stats(self, name: str) -> ContainerStats:
        container = self._call(f"reading stats of {name}", self.client.containers.get, name)
        raw = self._call(f"reading stats of {name}", container.stats, stream=False)
        memory = raw.get("memory_stats", {})
        return ContainerStats(
            cpu_seconds=raw.get("cpu_stats", {}).get("cpu_usage", {}).get("total_usage", 0) / 1e9,
            memory_bytes=int(memory.get("usage", 0)),
            memory_limit_bytes=int(memory.get("limit", 0)),
            pids=int(raw.get("pids_stats", {}).get("current", 0)),
        )


def _healthcheck(spec: ContainerSpec) -> dict:
    if not spec.listens:
        return {"test": ["NONE"]}  # a worker listens on nothing
    return {"test": ["CMD", "bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{spec.container_port}"],
            "interval": 30_000_000_000, "timeout": 5_000_000_000, "retries": 3, "start_period": 30_000_000_000}


def _state_of(container) -> ContainerState:
    attrs = container.attrs
    state = attrs.get("State", {})
    bindings = (attrs.get("HostConfig", {}).get("PortBindings") or {})
    host_port = None
    for binding in bindings.values():
        if binding:
            host_port = int(binding[0]["HostPort"])
    networks = attrs.get("NetworkSettings", {}).get("Networks") or {}
    # Its address on the network it was made on (the site network): a database network it joined
    # too (ContainerSpec.extra_networks) is no way in for the edge.
    primary = networks.get(attrs.get("HostConfig", {}).get("NetworkMode", ""), {}).get("IPAddress")
    address = primary or next((n.get("IPAddress") for n in networks.values() if n.get("IPAddress")), None)
    return ContainerState(
        name=container.name, id=container.id, status=state.get("Status", "unknown"), running=bool(state.get("Running")),
        exit_code=state.get("ExitCode"),
        oom_killed=bool(state.get("OOMKilled")),
        labels=dict(container.labels),
        host_port=host_port,
        address=address,
    )
