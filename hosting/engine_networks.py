"""The engine's networks and platform service containers (part of ContainerEngine, split out for size).

Site networks are bridges where containers cannot talk to each other. Database networks
(hosting/dbserver.py) are internal bridges without a host address: only the containers joined to
one (a site's own containers and its host's database server) reach each other on it, and nothing on
it reaches the host or the internet.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import docker.types

from hosting.engine_errors import ContainerNotFound, translate
from hosting.spec import LABEL_MANAGED


@dataclass(frozen=True)
class ServiceContainer:
    """A platform service the agent keeps running on its host (not a site's: no site contract, but
    read-only, no capabilities and limited all the same)."""

    name: str
    image: str
    command: tuple[str, ...]
    user: str
    mounts: dict[Path, str]  # host directory -> where inside (read-write)
    network: str
    address: str  # on `network`
    memory_mb: int
    pids: int
    labels: dict[str, str]


class NetworkOps:
    """Mixed into ContainerEngine: it provides `client` and `_call`."""

    client: docker.DockerClient

    def _call(self, doing: str, fn, *args, **kwargs): ...  # ContainerEngine's

    def ensure_site_network(self, name: str, bridge: str, subnet: str) -> None:
        """A bridge on which containers cannot talk to each other (inter-container traffic off)."""
        self._create_network(name, subnet, None, {
            "com.docker.network.bridge.name": bridge,
            "com.docker.network.bridge.enable_icc": "false",
            "com.docker.network.bridge.enable_ip_masquerade": "true",
        }, labels={}, internal=False)

    def ensure_private_network(self, name: str, bridge: str, subnet: str, labels: dict[str, str],
                               dynamic_range: str | None = None) -> None:
        """An internal bridge with no address of the host on it: its members reach each other only.
        Docker hands out addresses from `dynamic_range` only (the rest is for fixed ones)."""
        self._create_network(name, subnet, dynamic_range, {
            "com.docker.network.bridge.name": bridge,
            "com.docker.network.bridge.inhibit_ipv4": "true",
        }, labels=labels, internal=True)

    def _create_network(self, name: str, subnet: str, dynamic_range: str | None, options: dict[str, str],
                        labels: dict[str, str], internal: bool) -> None:
        if self.network_exists(name):
            return
        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet, iprange=dynamic_range)])
        try:
            self.client.networks.create(name, driver="bridge", ipam=ipam, options=options, internal=internal,
                                        labels={**labels, LABEL_MANAGED: "true"})
        except docker.errors.APIError as exc:
            if exc.status_code == 409 and self.network_exists(name):  # created meanwhile by another worker
                return
            raise translate(exc, f"creating network {name}") from exc

    def network_exists(self, name: str) -> bool:
        existing = self._call("listing networks", self.client.networks.list, names=[name])
        return any(network.name == name for network in existing)

    def networks(self, labels: dict[str, str]) -> dict[str, dict]:
        """{name: {"subnet": ..., "labels": {...}, "containers": [names]}} of the networks carrying `labels`."""
        filters = {"label": [f"{key}={value}" for key, value in labels.items()]}
        found = {}
        for network in self._call("listing networks", self.client.api.networks, filters=filters):
            detail = self._call("inspecting a network", self.client.api.inspect_network, network["Id"])
            configs = (detail.get("IPAM") or {}).get("Config") or [{}]
            found[detail["Name"]] = {"subnet": configs[0].get("Subnet", ""), "labels": detail.get("Labels") or {},
                                     "containers": [c.get("Name") for c in (detail.get("Containers") or {}).values()]}
        return found

    def subnets_in_use(self) -> set[str]:
        """Every subnet of every network on this daemon (ours, dockerd's, another installation's)."""
        used = set()
        for network in self._call("listing networks", self.client.api.networks):
            for config in (network.get("IPAM") or {}).get("Config") or []:
                if config.get("Subnet"):
                    used.add(config["Subnet"])
        return used

    def remove_network_with_members(self, name: str) -> None:
        """Disconnect whatever is still joined (a site's old containers, the database server), then
        remove the network; a network that is not there is fine."""
        try:
            detail = self._call(f"inspecting network {name}", self.client.api.inspect_network, name)
            for container in (detail.get("Containers") or {}):
                self._call(f"leaving {name}", self.client.api.disconnect_container_from_network, container, name,
                           force=True)
            self._call(f"removing network {name}", self.client.api.remove_network, name)
        except ContainerNotFound:  # translate() maps every 404 to it
            pass

    def connect(self, network: str, container: str, address: str | None = None) -> None:
        """Join `container` to `network` (at `address`); joined already is fine."""
        try:
            self.client.api.connect_container_to_network(container, network, ipv4_address=address)
        except docker.errors.APIError as exc:
            if "already exists" in str(exc.explanation or exc):
                return
            raise translate(exc, f"joining {container} to {network}") from exc
        except docker.errors.DockerException as exc:
            raise translate(exc, f"joining {container} to {network}") from exc

    def ensure_service(self, service: ServiceContainer) -> bool:
        """Start the service container if it is not running (create it if missing); True if it was started."""
        try:
            container = self._call(f"inspecting {service.name}", self.client.containers.get, service.name)
        except ContainerNotFound:
            container = self._create_service(service)
        if container.status == "running":
            return False
        self._call(f"starting {service.name}", container.start)
        return True

    def _create_service(self, service: ServiceContainer):
        mounts = [docker.types.Mount(target, str(source), type="bind") for source, target in service.mounts.items()]
        networking = {service.network: self.client.api.create_endpoint_config(ipv4_address=service.address)}
        return self._call(
            f"creating {service.name}", self.client.containers.create, service.image, command=list(service.command),
            name=service.name, user=service.user, labels={**service.labels, LABEL_MANAGED: "true"},
            read_only=True, tmpfs={"/tmp": "rw,nosuid,nodev,size=64m", "/run/lock": "rw,size=1m"}, mounts=mounts,
            cap_drop=["ALL"], security_opt=["no-new-privileges:true"], mem_limit=f"{service.memory_mb}m",
            memswap_limit=f"{service.memory_mb}m", pids_limit=service.pids, init=True,
            log_config=docker.types.LogConfig(type="json-file", config={"max-size": "10m", "max-file": "3"}),
            restart_policy={"Name": "unless-stopped"}, network=service.network, networking_config=networking,
            shm_size="128m",
        )
