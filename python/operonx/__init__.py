"""operonx: a workflow engine for AI and data pipelines, with a Rust core.

::

    from operonx import Operon, GraphOp, op, if_, START, END, PARENT

    @op
    def add(x, y=1):
        return {"sum": x + y}

    with GraphOp(name="g") as g:
        a = add(x=PARENT["x"])
        START >> a >> END

    result = Operon(g).run_sync({"x": 41})   # {"sum": 42, "$state": ...}
"""

from typing import TYPE_CHECKING

from operonx._core import __version__
from operonx.branch import BranchOp, if_
from operonx.engine import Operon
from operonx.graph import END, START, GraphOp
from operonx.handle import ExecutionHandle, Frame
from operonx.middleware import Middleware
from operonx.op import FuncOp, cache_info, clear_cache, op, set_cache_size
from operonx.refs import PARENT
from operonx.resources import ResourceHub, bootstrap
from operonx.textops import ParserOp, PromptOp

# `operonx.graph` is the module, callable as the @graph decorator (see graph._GraphModule); type checkers
# are shown the decorator itself, which is what `from operonx import graph` is used as
if TYPE_CHECKING:
    from operonx.graph import graph as graph
else:
    from operonx import graph

__all__ = [
    "BranchOp", "END", "ExecutionHandle", "Frame", "FuncOp", "GraphOp", "Middleware", "Operon", "PARENT",
    "ParserOp", "PromptOp", "ResourceHub", "START", "__version__", "bootstrap", "cache_info", "clear_cache",
    "graph", "if_", "op", "set_cache_size",
]
