"""A daemon thread that calls a check every few seconds until stopped: the running agent's
reloads (the AMC referential, the `[roc]` section).

    poller = Poller(file.check, "referential-reload", "AMC referential check failed")
    poller.start(5.0)     # nothing when 0
    poller.stop()

A check that raises is logged with its traceback and tried again at the next tick: a surprise
never ends the polling.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Poller:
    """Calls `check` every `interval_s` seconds on a daemon thread named `name`."""

    def __init__(self, check: Callable[[], object], name: str, failure: str) -> None:
        self._check = check
        self.name = name
        self._failure = failure
        """What the log says when the check raises."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, interval_s: float) -> None:
        """Start polling (nothing when `interval_s` is 0 or when it already runs)."""
        if interval_s <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._poll, args=(interval_s,), name=self.name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(5)

    def _poll(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            try:
                self._check()
            except Exception:  # a surprise must not end the polling: log it, try again later
                log.exception(self._failure)


__all__ = ["Poller"]
