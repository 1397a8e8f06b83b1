"""A saturated machine for tests: `CpuHog` starts busy-loop processes (one more than the
machine has cores) and stops them.

    with CpuHog():            # returns once every hog is running
        ...                   # work done while every core is busy

The hogs are separate processes (no GIL shared with the test), started with `spawn` so that
the test's threads are not forked with them.
"""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from types import TracebackType


def _spin(started: Queue[int]) -> None:
    started.put(os.getpid())
    while True:  # a busy loop, until the test terminates it
        pass


class CpuHog:
    """`count` busy-loop processes (default: the cores + 1) while the block runs."""

    def __init__(self, count: int | None = None) -> None:
        self.count = count or (os.cpu_count() or 1) + 1
        self._processes: list[BaseProcess] = []

    def __enter__(self) -> CpuHog:
        context = multiprocessing.get_context("spawn")
        started: Queue[int] = context.Queue()
        try:
            for _ in range(self.count):
                process = context.Process(target=_spin, args=(started,), daemon=True)
                process.start()
                self._processes.append(process)
            for _ in range(self.count):
                started.get(timeout=60)  # each hog says it runs: no sleep, no guess
        except BaseException:
            self._stop()
            raise
        finally:
            started.close()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop()

    @property
    def running(self) -> int:
        """Hogs still alive (all of them inside the block)."""
        return sum(1 for p in self._processes if p.is_alive())

    def _stop(self) -> None:
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            process.join(timeout=30)
        self._processes.clear()
