"""What the Ray executor tests share: a local Ray instance started once per test module (ray.init
takes seconds) and shut down after it."""

from __future__ import annotations

import asyncio
import os
import warnings

import pytest

from operonx.executors import CancelToken


Token = CancelToken  # a fresh one per call, as the engine makes them


async def stops_writing(path, quiet: float = 1.0, timeout: float = 30.0) -> None:
    """Returns once the file at ``path`` has not grown for ``quiet`` seconds (a task ticking into it
    writes every 50 ms while it runs); fails after ``timeout`` seconds (ray.cancel takes effect
    asynchronously, later on a loaded machine)."""
    async def watch() -> None:
        size = path.stat().st_size
        while True:
            await asyncio.sleep(quiet)
            now = path.stat().st_size
            if now == size:
                return
            size = now
    await asyncio.wait_for(watch(), timeout)


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
