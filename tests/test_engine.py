"""Running graphs: results, sync/async/cpu ops, order, $state, concurrency, run_sync, middleware."""

import asyncio
import contextvars
import threading

import pytest

from operonx import END, PARENT, START, GraphOp, Middleware, Operon, op
from operonx.errors import OperonUsageError

pytestmark = pytest.mark.timeout(30)


@op
def inc(x):
    return {"y": x + 1}


@op
async def ainc(x):
    await asyncio.sleep(0)
    return {"y": x + 1}


@op(bound="cpu")
def cpu_inc(x):
    return {"y": x + 1, "thread": threading.get_ident()}


@op
def add(a, b=10):
    return {"s": a + b}


def chain_graph(kinds):
    with GraphOp(name="g") as g:
        prev = None
        for i, f in enumerate(kinds):
            node = f(x=PARENT["x"] if prev is None else prev["y"], name=f"n{i}")
            if prev is None:
                START >> node
            else:
                prev >> node
            prev = node
        prev >> END
    return g


async def test_run_returns_graph_outputs_and_state():
    engine = Operon(chain_graph([inc, inc, inc]))
    result = await engine.run({"x": 1})
    assert result["y"] == 4
    assert set(result) == {"y", "$state"}
    state = result["$state"]
    assert state["g.n0", "y"] == 2
    assert state["g.n2", "y"] == 4
    assert state["g", "x"] == 1


async def test_call_is_run():
    engine = Operon(chain_graph([inc]))
    assert (await engine({"x": 5}))["y"] == 6


async def test_sync_async_and_cpu_ops_mix():
    engine = Operon(chain_graph([inc, ainc, cpu_inc, inc, ainc]))
    result = await engine.run({"x": 0})
    assert result["y"] == 5
    assert result["$state"]["g.n2", "thread"] != threading.get_ident()


def test_run_sync_from_a_script():
    assert Operon(chain_graph([inc, inc])).run_sync({"x": 1})["y"] == 3
    assert Operon(chain_graph([inc, ainc, cpu_inc])).run_sync({"x": 1})["y"] == 4


async def test_run_sync_refuses_inside_a_running_loop():
    engine = Operon(chain_graph([inc]))
    with pytest.raises(OperonUsageError, match="running event loop"):
        engine.run_sync({"x": 1})


async def test_async_graph_without_loop_gives_clear_error():
    # run() on an async graph needs a loop; _core says so instead of failing obscurely.
    engine = Operon(chain_graph([ainc]))
    result = await engine.run({"x": 1})
    assert result["y"] == 2


def test_repr_and_name():
    engine = Operon(chain_graph([inc, inc, inc]))
    assert repr(engine) == "<Operon engine='g' ops=3>"
    assert engine.name == "g"


async def test_fifo_order_of_ready_ops():
    order = []

    @op
    def rec(tag):
        order.append(tag)
        return {"t": tag}

    with GraphOp(name="o") as g:
        a = rec(tag="a")
        b2 = rec(tag="b2")
        b1 = rec(tag="b1")
        START >> [a, b2]
        a >> b1
        b1 >> END
    await Operon(g).run({})
    assert order == ["a", "b2", "b1"]


async def test_fan_out_fan_in_and_soft_join():
    calls = []

    @op
    def src(x):
        return {"v": x}

    @op
    def side(v, k):
        calls.append(k)
        return {"v": v * k}

    @op
    def join(a, b):
        calls.append("join")
        return {"out": a + b}

    @op
    def soft(v):
        calls.append("soft")
        return {"first": v}

    with GraphOp(name="g") as g:
        s = src(x=PARENT["x"])
        l = side(v=s["v"], k=2)
        r = side(v=s["v"], k=3)
        j = join(a=l["v"], b=r["v"])
        f = soft(v=s["v"])
        START >> s >> [l, r] >> j >> END
        [l, r] > f
        f >> END
    result = await Operon(g).run({"x": 1})
    assert result["out"] == 5
    assert result["first"] == 1
    assert calls.count("soft") == 1 and calls.count("join") == 1


async def test_inputs_literal_default_and_none():
    with GraphOp(name="g") as g:
        a = add(a=PARENT["x"])  # default b
        b = add(a=a["s"], b=None)  # None -> default
        c = add(a=b["s"], b=PARENT["missing"])  # absent -> default
        d = add(a=c["s"], b=0)  # 0 passes through
        START >> a >> b >> c >> d >> END
    assert (await Operon(g).run({"x": 1}))["s"] == 31


async def test_ref_transforms_run_in_engine():
    @op
    def both(text, n):
        return {"text": text, "n": n}

    @op
    def emit(s, k, neg, applied, m):
        return {"out": (s, k, neg, applied, m)}

    with GraphOp(name="g") as g:
        a = both(text=PARENT["t"].upper(), n=PARENT["d"]["k"][1])
        b = emit(s=a["text"] + "!", k=10 - a["n"], neg=-a["n"], applied=a["text"].apply(len), m=a["n"] * 3 >= 6)
        START >> a >> b >> END
    result = await Operon(g).run({"t": "hi", "d": {"k": [1, 2]}})
    assert result["out"] == ("HI!", 8, -2, 2, True)


async def test_inputs_star_pulls_graph_inputs():
    with GraphOp(name="g") as g:
        a = add(inputs={"*": PARENT})
        START >> a >> END
    assert (await Operon(g).run({"a": 1, "b": 2, "unused": 3}))["s"] == 3


async def test_output_mapping_three_ways():
    @op
    def pair(x):
        return {"k": x, "other": -x}

    with GraphOp(name="g") as g:
        a = pair(x=PARENT["x"], k=PARENT["from_kw"])
        b = pair(x=PARENT["x"], outputs={"k": PARENT["from_outputs"]})
        c = pair(x=PARENT["x"])
        c["k"] >> PARENT["from_shift"]
        START >> [a, b, c]
        [a, b, c] >> END
    result = await Operon(g).run({"x": 7})
    assert result["from_kw"] == result["from_outputs"] == result["from_shift"] == 7
    assert "other" not in result and "k" not in result


async def test_mapped_op_not_wired_to_end_still_forwards():
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        b = inc(x=a["y"])
        a["y"] >> PARENT["early"]
        START >> a >> b >> END
    result = await Operon(g).run({"x": 1})
    assert result["early"] == 2 and result["y"] == 3


async def test_same_output_key_from_several_ops_becomes_a_list():
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        b = inc(x=a["y"])
        START >> a >> b
        [a, b] >> END
    assert (await Operon(g).run({"x": 1}))["y"] == [2, 3]


async def test_none_valued_outputs_are_kept():
    @op
    def nothing(x):
        return {"v": None}

    with GraphOp(name="g") as g:
        a = nothing(x=PARENT["x"])
        START >> a >> END
    result = await Operon(g).run({"x": 1})
    assert "v" in result and result["v"] is None


async def test_returned_dict_variable_is_the_output():
    @op
    def build(x):
        out = {}
        out["z"] = x * 2
        return out

    with GraphOp(name="g") as g:
        a = build(x=PARENT["x"])
        START >> a >> END
    assert (await Operon(g).run({"x": 4}))["z"] == 8


async def test_tags_join_state_and_are_not_outputs():
    @op
    def tagged(x):
        return {"y": x, "$tags": ["a", "b", "a"]}

    with GraphOp(name="g") as g:
        a = tagged(x=PARENT["x"])
        START >> a >> END
    result = await Operon(g).run({"x": 1})
    assert "$tags" not in result
    assert result["$state"].tags == ["a", "b"]


async def test_concurrency_cap_limits_in_flight_async_ops():
    running = {"now": 0, "max": 0}

    @op
    async def slow(i):
        running["now"] += 1
        running["max"] = max(running["max"], running["now"])
        await asyncio.sleep(0.01)
        running["now"] -= 1
        return {"i": i}

    for cap, expected in ((2, 2), (None, 6)):
        running.update(now=0, max=0)
        with GraphOp(name="g", concurrency=cap) as g:
            nodes = [slow(i=i, name=f"s{i}") for i in range(6)]
            START >> nodes >> END
        result = await Operon(g).run({})
        assert sorted(result["i"]) == list(range(6))
        assert running["max"] == expected


async def test_async_ops_run_concurrently():
    @op
    async def nap(i):
        await asyncio.sleep(0.2)
        return {"i": i}

    with GraphOp(name="g") as g:
        nodes = [nap(i=i, name=f"n{i}") for i in range(20)]
        START >> nodes >> END
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await Operon(g).run({})
    assert loop.time() - t0 < 2.0  # 20 sequential naps would take 4 s


async def test_sync_ops_see_the_callers_contextvars():
    var = contextvars.ContextVar("var", default="unset")

    @op
    def read(x):
        return {"v": var.get()}

    with GraphOp(name="g") as g:
        a = read(x=PARENT["x"])
        START >> a >> END
    var.set("caller")
    assert (await Operon(g).run({"x": 1}))["v"] == "caller"


async def test_batch_runs_many():
    engine = Operon(chain_graph([inc, ainc]))
    results = await engine.batch([{"x": i} for i in range(5)])
    assert [r["y"] for r in results] == [2, 3, 4, 5, 6]


async def test_engine_runs_many_times_independently():
    engine = Operon(chain_graph([inc, ainc, inc]))
    results = await asyncio.gather(*(engine.run({"x": i}) for i in range(50)))
    assert [r["y"] for r in results] == [i + 3 for i in range(50)]


async def test_middleware_order_and_rewrites():
    log = []

    class M(Middleware):
        def __init__(self, tag):
            self.tag = tag

        async def before_run(self, graph, inputs, context):
            log.append(("before", self.tag))
            assert set(context) == {"request_id", "session_id", "user_id"}
            return {**inputs, "x": inputs["x"] + 1}

        async def after_run(self, graph, inputs, result, context):
            log.append(("after", self.tag))
            assert "$state" in result
            return {**result, self.tag: True}

    engine = Operon(chain_graph([inc]), middleware=[M("m1")]).use(M("m2"))
    result = await engine.run({"x": 0}, request_id="r1")
    assert result["y"] == 3 and result["m1"] and result["m2"]
    assert log == [("before", "m1"), ("before", "m2"), ("after", "m2"), ("after", "m1")]


def test_adding_an_op_after_build_is_refused():
    g = chain_graph([inc])
    Operon(g)
    with pytest.raises(RuntimeError):
        with g:
            inc(x=1, name="late")


def test_engine_from_factory_with_params():
    def factory(k):
        with GraphOp(name=f"made{k}") as g:
            a = inc(x=PARENT["x"])
            START >> a >> END
        return g

    engine = Operon(factory, params={"k": 3})
    assert engine.name == "made3"
    assert engine.run_sync({"x": 1})["y"] == 2


def test_input_and_output_schema():
    engine = Operon(chain_graph([inc]))
    assert engine.input_schema()["required"] == ["x"]
    assert list(engine.output_schema()["properties"]) == ["y"]


def test_nothing_printed_to_stdout(capsys):
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"], name="a")
        START >> a >> END
    Operon(g).run_sync({"x": 1})
    assert capsys.readouterr().out == ""
