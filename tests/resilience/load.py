"""Steady traffic to sites through the edge, with every failed request counted and timed."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import requests


@dataclass
class Failure:
    at: float  # time.monotonic()
    hostname: str
    reason: str


@dataclass
class Load:
    """`threads` clients, each requesting the sites in turn over keep-alive connections, until stopped."""

    edge_port: int
    expected: dict[str, str]  # hostname -> text its page contains
    threads: int = 4
    sent: int = 0
    failures: list[Failure] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]

    def __enter__(self) -> "Load":
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(15)

    def _get(self, session: requests.Session, hostname: str) -> str | None:
        """One request; the reason it failed, or None."""
        try:
            response = session.get(f"http://127.0.0.1:{self.edge_port}/", headers={"Host": hostname}, timeout=5)
        except requests.RequestException as exc:
            return f"{type(exc).__name__}: {exc}"[:200]
        if response.status_code != 200 or self.expected[hostname] not in response.text:
            return f"{response.status_code} {response.text[:80]!r}"
        return None

    def _run(self) -> None:
        session = requests.Session()
        hostnames = list(self.expected)
        n = 0
        while not self._stop.is_set():
            hostname = hostnames[n % len(hostnames)]
            n += 1
            reason = self._get(session, hostname)
            if reason and "Connection aborted" in reason:
                # The server closed an idle kept-alive connection (an nginx reload does) as the
                # request went out on it. Clients send such a request again on a new connection,
                # as browsers do (RFC 9112, 9.3.1); only a second failure counts.
                session = requests.Session()
                reason = self._get(session, hostname)
            if reason:
                session = requests.Session()
                time.sleep(0.01)  # a refused connection returns at once: do not spin
            with self._lock:
                self.sent += 1
                if reason:
                    self.failures.append(Failure(time.monotonic(), hostname, reason))

    def failures_since(self, start: float) -> list[Failure]:
        with self._lock:
            return [f for f in self.failures if f.at >= start]

    def sent_so_far(self) -> int:
        with self._lock:
            return self.sent
