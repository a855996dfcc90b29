"""The agent: one Celery worker per host, consuming only that host's queue.

On start it registers its Host row with the capacity its Docker daemon reports, then a
heartbeat thread refreshes the row every HEARTBEAT_INTERVAL seconds while the daemon answers (a host
found down is fenced first: hosting/fleet.py), and
puts the site firewall back when something (a dockerd restart, a flush) took part of it away. A
second thread samples the site containers' usage (hosting/sampler.py).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from celery import bootsteps, current_app
from django.conf import settings
from django.db import close_old_connections

from hosting import fleet, image_catalog
from hosting.engine import ContainerEngine
from core.errors import HostingError, TransientError
from hosting.host_setup import ensure_site_firewall, prepare_host
from hosting.log_relay import start_log_relay, start_tcp_log_relay
from hosting.models import Host
from hosting.reconcile import agent_starting, reconcile_host
from hosting.periodic import PeriodicThread
from hosting.sampler import SamplerThread, UsageSampler
from core.routing import host_queue

log = logging.getLogger(__name__)


class Heartbeat(PeriodicThread):
    def __init__(self, host_name: str, engine: ContainerEngine, interval: float) -> None:
        super().__init__("heartbeat", interval)
        self.host_name = host_name
        self.engine = engine

    def beat_once(self) -> None:
        try:
            if not fleet.record_heartbeat(self.host_name, self.engine.capacity()):
                self.fence()
            self.check_firewall()
        except TransientError as exc:
            # No heartbeat without a daemon: a host that cannot run containers must show as down.
            log.warning("heartbeat skipped: %s", exc, extra={"host": self.host_name})
        except Exception:  # keep beating through database hiccups
            log.exception("heartbeat failed", extra={"host": self.host_name})
        finally:
            close_old_connections()

    def fence(self) -> None:
        """The host was found down while this agent ran (a partition, a stall): failover may have
        started its sites elsewhere. Remove their stale containers before the host is alive again."""
        counts = reconcile_host(Host.objects.get(name=self.host_name), self.engine)
        log.warning("fenced after being found down: %s", counts, extra={"host": self.host_name})
        fleet.host_fenced(self.host_name)

    def check_firewall(self) -> None:
        # After the daemon answered: a restarting dockerd re-creates its chains before it answers.
        try:
            repaired = ensure_site_firewall()
        except HostingError as exc:
            log.error("site firewall could not be applied: %s", exc, extra={"host": self.host_name})
            return
        if repaired:
            log.warning("site firewall re-applied: %s", "; ".join(repaired), extra={"host": self.host_name})

    def once(self) -> None:
        self.beat_once()


class AgentThreads(bootsteps.StartStopStep):
    """Runs the heartbeat and the usage sampler for as long as the agent's worker runs."""

    host_name = ""  # set by run_agent before the worker starts

    def __init__(self, worker, **kwargs) -> None:
        super().__init__(worker, **kwargs)
        self.threads: list[PeriodicThread] = []

    def start(self, worker) -> None:
        self.threads = [
            Heartbeat(self.host_name, ContainerEngine(), settings.HEARTBEAT_INTERVAL),
            SamplerThread(UsageSampler(self.host_name, ContainerEngine(), settings.VOLUMES_DIR), settings.METRICS_INTERVAL),
        ]
        for thread in self.threads:
            thread.start()

    def stop(self, worker) -> None:
        for thread in self.threads:
            thread.stop()


def register_when_docker_answers(host_name: str, engine: ContainerEngine) -> None:
    """Register the host, waiting for its Docker daemon if it is not up yet."""
    delay = 1.0
    while True:
        try:
            capacity = engine.capacity()
            break
        except TransientError as exc:
            log.warning("waiting for Docker: %s", exc, extra={"host": host_name})
            time.sleep(delay)
            delay = min(delay * 2, 30)
    fleet.register_host(host_name, capacity, settings.HOST_SERVICE_ADDRESS)
    close_old_connections()


def run_agent(host_name: str, concurrency: int, loglevel: str) -> None:
    engine = ContainerEngine()
    register_when_docker_answers(host_name, engine)
    prepare_host(engine)
    host = Host.objects.get(name=host_name)
    for receiver, error in agent_starting.send_robust(sender=Host, host=host, engine=engine):
        if isinstance(error, Exception):
            log.error("clean-up at start failed in %s: %s", receiver.__qualname__, error, extra={"host": host_name})
    # Containers the daemon stopped (a restart of it or of the machine) serve again before work starts.
    counts = reconcile_host(host, engine)
    log.info("reconciled: %s", counts, extra={"host": host_name})
    # Stale containers (of instances failover replaced while this host was down) are gone now.
    fleet.host_fenced(host_name)
    # The staff catalog lists each host's images; `make run` built them before the database was up.
    recorded = image_catalog.record_images(host_name, engine, image_catalog.current_tags())
    log.info("runtime images present: %s", recorded, extra={"host": host_name})
    engine.close()
    close_old_connections()
    # The web server is not root and has no Docker socket; it reads site logs through this.
    if start_log_relay(Path(settings.DATA_DIR), settings.PLATFORM_USER):
        log.info("serving site logs to the platform user", extra={"host": host_name})
    # ... and to the web server of whichever machine, for the instances of this host (hosting/log_access.py).
    if start_tcp_log_relay(host_name, settings.HOST_SERVICE_ADDRESS, settings.LOG_RELAY_PORT):
        log.info("serving site logs on %s:%s", settings.HOST_SERVICE_ADDRESS, settings.LOG_RELAY_PORT,
                 extra={"host": host_name})
    AgentThreads.host_name = host_name
    # The project's Celery app (config.celery), loaded with the settings package: the fleet does not
    # import the project.
    current_app.steps["worker"].add(AgentThreads)
    current_app.worker_main(
        [
            "worker",
            "--queues", host_queue(host_name),
            "--hostname", f"agent@{host_name}",
            "--concurrency", str(concurrency),
            "--loglevel", loglevel,
            "--without-mingle",
            "--without-gossip",
        ]
    )
