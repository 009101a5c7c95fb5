"""`_core` never imports `operonx` (architecture.md section 1): the bindings import only the standard
library (asyncio, operator, atexit...) and name `operonx.*` only as the `__module__` of their classes.
Checked twice: in the source, and at run time by running every kind of op with the package's own
modules hidden."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMPORT = re.compile(r"""import\w*\(\s*(?:py\s*,\s*)?"(operonx[^"]*)\"""")


def test_the_bindings_import_no_module_of_the_package():
    found = []
    for path in sorted((ROOT / "rust" / "python" / "src").rglob("*.rs")):
        for name in IMPORT.findall(path.read_text(encoding="utf-8")):
            found.append(f"{path.relative_to(ROOT)}: {name}")
    assert found == []


def test_running_every_kind_of_op_imports_nothing_new_from_the_package():
    script = textwrap.dedent(
        """
        import asyncio, sys
        from operonx import END, PARENT, START, GraphOp, Operon, op

        @op
        def inc(x):
            return {"y": x + 1}

        @op
        async def ainc(y):
            return {"z": y + 1}

        @op(bound="cpu")
        def cpu(z):
            return {"w": z}

        @op
        async def agen(w):
            for i in range(3):
                yield {"i": w + i}

        @op
        def gen(i):
            yield {"j": i}

        with GraphOp(name="g") as g:
            a = inc(x=PARENT["x"])
            b = ainc(y=a["y"])
            c = cpu(z=b["z"])
            d = agen(w=c["w"])
            START >> a >> b >> c >> d >> gen(i=d["i"]) >> END
        engine = Operon(g)
        before = {m for m in sys.modules if m.startswith("operonx")}
        result = asyncio.run(asyncio.wait_for(engine.run({"x": 0}), 10))
        assert result["j"] == [2, 3, 4], result
        after = {m for m in sys.modules if m.startswith("operonx")}
        print(sorted(after - before))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
