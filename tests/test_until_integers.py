"""Integer literals in a loop's ``until`` text keep Python's precision: one beyond 64 bits is a Python
``int``, never a float, so a loop stops exactly at it and never at a neighbour a float would confuse
with it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from operonx import END, PARENT, START, GraphOp, Operon, op

TOP = 2**64  # floats near it are 4096 apart above, 2048 below


@op
def step(n, by=1):
    return {"n": n + by}


def run_loop(until: str, start: int, by: int = 1, max_iterations: int = 20) -> tuple[int, dict]:
    """Runs ``n += by`` from ``start`` until ``until``; the last ``n`` and the loop's stats."""
    with GraphOp.loop(name="l", until=until, max_iterations=max_iterations, n=0) as g:
        START >> step(n=PARENT["n"], by=by, name="s") >> END
    result = Operon(g).run_sync({"n": start})
    return result["n"], result["$state"].loops["l"]


def test_a_loop_stops_exactly_at_a_value_beyond_64_bits():
    n, stats = run_loop("n == 18446744073709551618", TOP - 6)
    assert n == TOP + 2 and type(n) is int
    assert stats["iterations"] == 8 and not stats["reached_max"]


def test_a_loop_does_not_stop_at_a_neighbour_a_float_would_confuse():
    # float(18446744073709551617) == 2**64: read as a float, the literal would stop the loop at 2**64
    n, stats = run_loop("n == 18446744073709551617", TOP - 2, by=2, max_iterations=5)
    assert n == TOP + 8
    assert stats["iterations"] == 5 and stats["reached_max"] == 1
    n, stats = run_loop("n >= 18_446_744_073_709_551_618", TOP - 3)
    assert (n, stats["iterations"]) == (TOP + 2, 5)


def test_big_literals_combine_exactly_with_arithmetic_and_negation():
    n, stats = run_loop(f"n - {TOP * 10**20} == -{10**20}", TOP * 10**20 - 10**20 - 3)
    assert (n, stats["iterations"]) == (TOP * 10**20 - 10**20, 3)
    n, stats = run_loop(f"n == -{TOP + 1}", -TOP - 4)
    assert (n, stats["iterations"]) == (-TOP - 1, 3)


BIG = st.one_of(
    st.integers(2**63, TOP + 10**6),
    st.integers(TOP, 2**400),
    st.integers(-(2**400), -(2**63) - 2),
)


@settings(max_examples=60, deadline=None)
@given(k=BIG, d=st.integers(1, 4))
def test_loops_stop_exactly_at_integer_literals_of_any_size(k, d):
    # `n == k` holds at k and at no neighbour; `n >= k` first holds at k
    for until in (f"n == {k}", f"n >= {k}", f"not n < {k}"):
        n, stats = run_loop(until, k - d, max_iterations=d + 3)
        assert (n, stats["iterations"], stats["reached_max"]) == (k, d, 0), until
    # stepping by 2 from an odd distance passes k - 1 and k + 1, never k
    n, stats = run_loop(f"n == {k}", k - 2 * d - 1, by=2, max_iterations=d + 1)
    assert (n, stats["reached_max"]) == (k + 1, 1)
