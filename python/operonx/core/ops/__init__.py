"""Built-in ops: ``from operonx.core.ops import if_, BranchOp`` (``ParserOp``... land here)."""

from operonx.branch import Branch, BranchOp, if_

__all__ = ["Branch", "BranchOp", "if_"]
