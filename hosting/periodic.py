"""A thread of the agent doing one thing every `interval` seconds until it is stopped (the
heartbeat, the usage sampler)."""
from __future__ import annotations

import threading


class PeriodicThread(threading.Thread):
    def __init__(self, name: str, interval: float) -> None:
        super().__init__(name=name, daemon=True)
        self.interval = interval
        self._stopped = threading.Event()

    def once(self) -> None:
        raise NotImplementedError

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.once()

    def stop(self) -> None:
        self._stopped.set()
