"""What the Ray executor tests share: a local Ray instance started once per test module (ray.init
takes seconds) and shut down after it, and a stand-in for the run's cancel token."""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable

import pytest


class Token:
    """The cancel-token surface an executor uses: ``cancelled`` and ``add_callback`` (each callback
    called once, at cancel)."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self.cancelled = False

    def add_callback(self, fn: Callable[[], None]) -> None:
        with self._lock:
            if not self.cancelled:
                self._callbacks.append(fn)
                return
        fn()

    def cancel(self) -> None:
        with self._lock:
            if self.cancelled:
                return
            self.cancelled = True
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            fn()


@pytest.fixture(scope="module")
def ray_instance(request):
    """A local Ray instance on 2 CPUs for this module. Test modules are not importable in Ray's
    workers, so the requesting module's functions travel by value."""
    ray = pytest.importorskip("ray")
    ray.cloudpickle.register_pickle_by_value(request.module)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # no token file written under ~/.ray
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # /dev/shm size and similar start-up advice
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 object_store_memory=256 * 1024 * 1024)
    yield ray
    ray.shutdown()
    ray.cloudpickle.unregister_pickle_by_value(request.module)
