"""The host's PostgreSQL server: one container per host, a private network per database.

Shape: every host that runs sites with databases runs one PostgreSQL server (Debian's package, in an
image built FROM the OS image like the runtimes). Each site's database gets its own internal Docker
network (`hosting-db-<site>`), a /27 of DATABASE_SUBNET_POOL with no address of the host on it:
the server joins it at .2 and the site's containers join it beside their site network
(ContainerSpec.extra_networks). pg_hba.conf admits a database's role only from its own network's
subnet, so another site's container, with the right password and the server's address, is refused
(it is not on that network, and the address it could reach the server at is on its own network).
Nothing on these networks reaches the host or the internet (internal, no host address, IPv6 off).

Everything here is derived from the Docker daemon's own state (the networks carry their database's
name in a label), so the agent can rebuild pg_hba.conf and the server's joins at any time. The SQL
side (roles, databases, sizes) is hosting/dbadmin.py.
"""
from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from core.errors import PlatformError
from hosting.engine import ContainerEngine
from hosting.engine_networks import ServiceContainer
from hosting.images import build_runtime_image, os_image_recipe, runtime_image_recipe
from hosting.instances import fleet_id
from hosting.runtimes import Runtime

log = logging.getLogger(__name__)

LABEL_DATABASE = "hosting.database"  # on a database network: the database (and role) name
LABEL_ENGINE = "hosting.engine"
LABEL_DB_FLEET = "hosting.fleet"
LABEL_DB_HOST = "hosting.host"
SUBNET_PREFIX = 27  # 30 addresses: the server (.2) and the site's containers (.16 to .30)


@dataclass(frozen=True)
class Kind:
    """One database engine's server: its image, user, port and names (PostgreSQL, MariaDB)."""

    engine: str
    short: str  # in network and bridge names: pg, my
    runtime: Runtime
    uid: int  # the image's server user, fixed so the agent can own its directories
    port: int
    socket_target: str  # the server's socket directory inside its container
    network_prefix: str

    def command(self) -> tuple[str, ...]:
        if self.engine == "postgresql":
            return ("hosting-postgresql", "-c", f"max_connections={settings.DATABASE_SERVER_CONNECTIONS}",
                    "-c", f"shared_buffers={settings.DATABASE_SERVER_MEMORY_MB // 8}MB")
        return ("hosting-mariadb", f"--max-connections={settings.DATABASE_SERVER_CONNECTIONS}",
                f"--innodb-buffer-pool-size={settings.DATABASE_SERVER_MEMORY_MB // 4}M")


POSTGRES = Kind(
    "postgresql", "pg", Runtime(
        name="postgresql", label="PostgreSQL (Debian)", version="PostgreSQL 17", packages=("postgresql",),
        web_command=(), build_command=None, setup=("usermod -u 5432 postgres && groupmod -g 5432 postgres",)),
    uid=5432, port=5432, socket_target="/run/postgresql", network_prefix="hosting-db-",
)
MARIADB = Kind(
    "mariadb", "my", Runtime(
        name="mariadb", label="MariaDB (Debian)", version="MariaDB 11.8", packages=("mariadb-server",),
        web_command=(), build_command=None, setup=("usermod -u 3306 mysql && groupmod -g 3306 mysql",)),
    uid=3306, port=3306, socket_target="/run/mysqld", network_prefix="hosting-my-",
)
KINDS = {kind.engine: kind for kind in (POSTGRES, MARIADB)}
PORT = POSTGRES.port


@dataclass(frozen=True)
class DatabaseNetwork:
    network: str
    subnet: str
    server_address: str


def image_tag(kind: Kind = POSTGRES) -> str:
    return runtime_image_recipe(kind.runtime, os_image_recipe().tag).tag


def server_name(host: str, kind: Kind = POSTGRES) -> str:
    # Several installations (tests) may share one daemon: the fleet's mark keeps their servers apart.
    return f"hosting-{kind.engine}-{fleet_id()[:12]}-{host}"


def server_network(host: str, kind: Kind = POSTGRES) -> str:
    return f"hosting-{kind.short}-{fleet_id()[:12]}-{host}"


def server_dir(host: str, kind: Kind = POSTGRES) -> Path:
    return Path(settings.DATA_DIR) / "databases" / f"{kind.engine}-{host}"


def socket_dir(host: str, kind: Kind = POSTGRES) -> Path:
    """Where the server's Unix socket is on the host: only the agent (root) and the server use it."""
    return server_dir(host, kind) / "run"


def network_name(database: str, kind: Kind = POSTGRES) -> str:
    return kind.network_prefix + database.replace("_", "-")


def bridge_name(database: str, kind: Kind = POSTGRES) -> str:
    # Linux allows 15 characters; the tail of a uuid is unique enough per host.
    return ("hdb" if kind is POSTGRES else f"h{kind.short}") + database[-12:]


def server_address(subnet: str) -> str:
    return str(ipaddress.ip_network(subnet).network_address + 2)


def dynamic_range(subnet: str) -> str:
    """The upper half of a database network: Docker gives the site's containers addresses there,
    never the server's fixed .2, even while the server is away."""
    return str(list(ipaddress.ip_network(subnet).subnets(prefixlen_diff=1))[1])


def network_labels(host: str, database: str | None = None, kind: Kind = POSTGRES) -> dict[str, str]:
    labels = {LABEL_DB_FLEET: fleet_id(), LABEL_DB_HOST: host, LABEL_ENGINE: kind.engine}
    if database is not None:
        labels[LABEL_DATABASE] = database
    return labels


def free_subnet(used: set[str], pool: str | None = None) -> str:
    """The first /27 of the pool that overlaps no network the daemon has."""
    taken = [ipaddress.ip_network(subnet) for subnet in used if ":" not in subnet]
    for candidate in ipaddress.ip_network(pool or settings.DATABASE_SUBNET_POOL).subnets(new_prefix=SUBNET_PREFIX):
        if not any(candidate.overlaps(network) for network in taken):
            return str(candidate)
    raise PlatformError("No database network is free on this host: DATABASE_SUBNET_POOL is used up.")


def _private_network(engine: ContainerEngine, name: str, bridge: str, labels: dict[str, str]) -> str:
    """Create the internal network if missing (retrying when another network took the subnet) and
    switch IPv6 off on its bridge: a link-local address would be a way to the host."""
    for _ in range(5):
        if engine.network_exists(name):
            break
        try:
            subnet = free_subnet(engine.subnets_in_use())
            engine.ensure_private_network(name, bridge, subnet, labels, dynamic_range=dynamic_range(subnet))
        except PlatformError as exc:
            if "overlap" not in str(exc):
                raise
    subnet = engine.networks({"hosting.managed": "true", **labels}).get(name, {}).get("subnet", "")
    if not subnet:
        raise PlatformError(f"The database network {name} could not be made.")
    _ipv6_off(bridge)
    return subnet


def _ipv6_off(bridge: str) -> None:
    switch = Path(f"/proc/sys/net/ipv6/conf/{bridge}/disable_ipv6")
    try:
        if switch.exists() and switch.read_text().strip() != "1":
            switch.write_text("1\n")
    except OSError as exc:  # not root (unit tests) or no IPv6 at all: nothing to switch off then
        log.warning("IPv6 could not be switched off on %s: %s", bridge, exc)


def write_hba(engine: ContainerEngine, host: str) -> str:
    """pg_hba.conf from the host's database networks: each role from its own subnet only."""
    lines = ["# Written by the agent (hosting/dbserver.py); rewritten whenever a database comes or goes.",
             "local all postgres trust"]
    for name, network in sorted(engine.networks({"hosting.managed": "true", **network_labels(host)}).items()):
        database = network["labels"].get(LABEL_DATABASE, "")
        if database and network["subnet"]:
            lines.append(f"host {database} {database} {network['subnet']} scram-sha-256")
    lines += ["host all all 0.0.0.0/0 reject", "host all all ::/0 reject"]
    text = "\n".join(lines) + "\n"
    target = server_dir(host) / "pg_hba.conf"
    temporary = target.with_suffix(".tmp")
    temporary.write_text(text)
    os.chmod(temporary, 0o640)
    _own(temporary, POSTGRES.uid)
    os.replace(temporary, target)
    return text


def _own(path: Path, uid: int) -> None:
    try:
        os.chown(path, uid, uid)
    except PermissionError:  # unit tests run unprivileged
        pass


def _prepare_dirs(host: str, kind: Kind) -> None:
    for path in (server_dir(host, kind), socket_dir(host, kind)):
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
        _own(path, kind.uid)


def service(host: str, address: str, kind: Kind = POSTGRES) -> ServiceContainer:
    return ServiceContainer(
        name=server_name(host, kind), image=image_tag(kind), command=kind.command(), user=f"{kind.uid}:{kind.uid}",
        mounts={server_dir(host, kind): "/var/lib/hosting-db", socket_dir(host, kind): kind.socket_target},
        network=server_network(host, kind), address=address, memory_mb=settings.DATABASE_SERVER_MEMORY_MB, pids=256,
        labels=network_labels(host, kind=kind),
    )


def ensure_server(engine: ContainerEngine, host: str, kind: Kind = POSTGRES) -> bool:
    """The server runs, joined to every database network of the host, with a current pg_hba.conf
    (hosting/dbadmin.py waits until it answers). Idempotent: the agent calls it before each database
    change and on every reconcile."""
    if not engine.image_exists(image_tag(kind)):
        build_runtime_image(runtime_image_recipe(kind.runtime, os_image_recipe().tag), engine,
                            lambda line: log.info("%s", line, extra={"host": host}))
    _prepare_dirs(host, kind)
    labels = network_labels(host, kind=kind)
    subnet = _private_network(engine, server_network(host, kind), f"h{kind.short}" + fleet_id()[:6] + host[:6], labels)
    if kind is POSTGRES:
        write_hba(engine, host)
    started = engine.ensure_service(service(host, server_address(subnet), kind))
    for name, network in engine.networks({"hosting.managed": "true", **labels}).items():
        if network["labels"].get(LABEL_DATABASE) and server_name(host, kind) not in network["containers"]:
            engine.connect(name, server_name(host, kind), server_address(network["subnet"]))
    if started:
        log.info("%s server started", kind.engine, extra={"host": host})
    return started


def keep_running(engine: ContainerEngine, host: str) -> bool:
    """Reconcile's part: when the host holds databases, their server runs and is on each of their
    networks. True when it had to be started. A host whose agent never made a database has no
    server directory: nothing is asked of Docker then."""
    started = False
    for kind in KINDS.values():
        if not server_dir(host, kind).is_dir():
            continue
        ours = engine.networks({"hosting.managed": "true", **network_labels(host, kind=kind)})
        if any(network["labels"].get(LABEL_DATABASE) for network in ours.values()):
            started = ensure_server(engine, host, kind) or started
    return started


def ensure_database_network(engine: ContainerEngine, host: str, database: str,
                            kind: Kind = POSTGRES) -> DatabaseNetwork:
    """The database's own network, with the server on it (pg_hba.conf, or the MariaDB account's
    host, admits the role from it alone)."""
    name = network_name(database, kind)
    subnet = _private_network(engine, name, bridge_name(database, kind), network_labels(host, database, kind))
    engine.connect(name, server_name(host, kind), server_address(subnet))
    return DatabaseNetwork(name, subnet, server_address(subnet))


def remove_database_network(engine: ContainerEngine, host: str, database: str, kind: Kind = POSTGRES) -> None:
    engine.remove_network_with_members(network_name(database, kind))
    if kind is POSTGRES:
        write_hba(engine, host)
