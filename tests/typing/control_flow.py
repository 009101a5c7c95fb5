"""Branches with if_ and BranchOp, loops, nested graphs and @graph factories."""

from __future__ import annotations

from operonx import END, PARENT, START, BranchOp, GraphOp, Operon, graph, if_, op


@op
def grade(score: int) -> dict[str, str]:
    return {"grade": "A" if score >= 90 else "B"}


@op
def inc(n: int) -> dict[str, int]:
    return {"n": n + 1}


@op
def label(text: str) -> dict[str, str]:
    return {"label": text}


def branches() -> GraphOp:
    with GraphOp(name="router") as g:
        hi = label(text="high")
        mid = label(text="middle")
        lo = label(text="low")
        router = if_(PARENT["score"] >= 90, "hi").if_(PARENT["score"] >= 50, mid).else_(lo)
        check = BranchOp(cases=[(PARENT["score"] < 0, "lo")], default=None, inputs={"score": PARENT["score"]})
        none_matched = if_((PARENT["score"] > 1000) | (PARENT["score"] < -1000), "lo").build(name="rare")
        START >> [router, check, none_matched]
        router >> [hi, mid, lo] >> END
        router["target"] >> PARENT["chosen"]
        print(router.candidates, router.default, check.cases)
    return g


def loops() -> GraphOp:
    with GraphOp.loop(name="count", until="n >= 5", max_iterations=10, n=0) as counter:
        step = inc(n=PARENT["n"])
        START >> step >> END
    return counter


def nested() -> GraphOp:
    with GraphOp(name="outer") as outer:
        first = inc(n=PARENT["n"])
        with GraphOp(name="inner", inputs={"n": first["n"]}) as inner:
            twice = inc(n=PARENT["n"] * 2)
            START >> twice >> END
        with GraphOp.loop(name="again", until=lambda v: v["n"] > 20, n=inner["n"]) as again:
            more = inc(n=PARENT["n"])
            START >> more >> END
        START >> first >> inner >> again >> END
    return outer


@graph
def pipeline(text: str | None = None) -> None:
    START >> label(text=PARENT["text"]) >> END


@graph(name="grading", until="grade == 'A'", max_iterations=3)
def grading(score: int = 0) -> None:
    START >> grade(score=PARENT["score"] + 50) >> END


def factories() -> GraphOp:
    with GraphOp(name="uses") as g:
        sub = pipeline(text=PARENT["text"], name="sub")
        START >> sub >> END
    return g


def main() -> None:
    for built in (branches(), loops(), nested(), factories(), pipeline(), grading()):
        engine = Operon(built)
        result = engine.run_sync({"score": 70, "n": 0, "text": "x"})
        print(engine, result.get("chosen"), result["$state"].loops)


if __name__ == "__main__":
    main()
