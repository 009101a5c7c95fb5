"""The Ray rows of ``run_scale.py`` (``ray_rows``), also runnable on their own:

* W6 on Ray: the 8 CPU-bound ops of W6 (``scale_ops.crunch``, about 50 ms each) fanned out from START,
  each a Ray task through the Ray executor (``@op(executor="ray")``).
* The Ray executor's cost on a 1000-op fan-out of trivial ops (``scale_ops.nop``), each a Ray task, and
  Ray's own ``ray.get([f.remote(i) for i in range(1000)])`` for the same 1000 tasks, in the same process
  and the same rounds.

Ray runs locally on 2 CPUs (``ray.init(num_cpus=2)``: its workers are the 2 cores) and is warmed up
before the clock runs: its workers started, every function exported once, one untimed run of each graph.
Run on its own: ``python benches/python/scale_ray.py [--reps N]`` (prints JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scale_ops  # noqa: E402

W6_OPS = 8
FANOUT = 1000


def start_ray() -> Any:
    """The local Ray instance (started here when this process has none), with ``scale_ops`` shipped by
    value: Ray's workers cannot import ``benches/python``."""
    import ray  # noqa: PLC0415 - only these rows need it

    ray.cloudpickle.register_pickle_by_value(scale_ops)
    if not ray.is_initialized():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    return ray


def _graphs() -> tuple[Any, Any]:
    from operonx import END, PARENT, START, GraphOp, op  # noqa: PLC0415

    crunch, nop = op(executor="ray")(scale_ops.crunch), op(executor="ray")(scale_ops.nop)
    with GraphOp(name="w6") as w6:
        ops = [crunch(iters=PARENT["iters"], name=f"c{i}") for i in range(W6_OPS)]
        START >> ops >> END
    with GraphOp(name="fanout") as fan:
        ops = [nop(x=i, name=f"n{i}") for i in range(FANOUT)]
        START >> ops >> END
    return w6, fan


async def ray_rows(iters: int, reps: int, make_executor: Callable[[], Any] | None = None,
                   w6_timer: Callable[..., Any] | None = None) -> dict[str, Any]:
    """``ray_w6``, ``ray_fanout`` and ``ray_native_fanout``: medians (s) over ``reps`` runs; ``{}`` when
    Ray is not installed. The two fan-outs alternate, so both see the same machine. ``ray_w6`` is what
    ``await w6_timer(run, iters, reps)`` gives when a timer is given (``run_scale.py``'s W6 timed in
    pairs with the serial calls), else the median time."""
    try:
        ray = start_ray()
    except ImportError:
        return {}
    from operonx import Operon  # noqa: PLC0415
    from operonx.executors import RayExecutor  # noqa: PLC0415

    executor = make_executor() if make_executor is not None else RayExecutor()
    native = ray.remote(max_retries=0)(scale_ops.nop)
    ray.get([native.remote(i) for i in range(2 * FANOUT)])  # both workers up, the function exported
    w6_graph, fan_graph = _graphs()
    w6, fan = Operon(w6_graph, executors={"ray": executor}), Operon(fan_graph, executors={"ray": executor})
    run_w6 = lambda: w6.run({"iters": iters})  # noqa: E731
    out: dict[str, Any] = {
        "ray_w6": await w6_timer(run_w6, iters, reps) if w6_timer else statistics.median(await scale_ops.wall_times(run_w6, reps))
    }

    async def native_fanout() -> None:
        ray.get([native.remote(i) for i in range(FANOUT)])

    await fan.run({})
    await native_fanout()
    ours, theirs = [], []
    for _ in range(reps):
        ours += await scale_ops.wall_times(lambda: fan.run({}), 1)
        theirs += await scale_ops.wall_times(native_fanout, 1)
    out["ray_fanout"], out["ray_native_fanout"] = statistics.median(ours), statistics.median(theirs)
    executor.shutdown()
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--ms", type=float, default=50)
    args = ap.parse_args(argv)
    iters = scale_ops.calibrate(args.ms)

    async def go() -> dict[str, Any]:
        serial = await scale_ops.wall_times(lambda: asyncio.sleep(0, [scale_ops.work(iters) for _ in range(W6_OPS)]), args.reps)
        return {"serial": statistics.median(serial), **await ray_rows(iters, args.reps)}
    out = asyncio.run(go())
    out["w6_vs_serial"] = out["ray_w6"] / out["serial"]
    out["fanout_vs_ray_get"] = out["ray_fanout"] / out["ray_native_fanout"]
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
