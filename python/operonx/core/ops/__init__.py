"""Built-in ops: ``from operonx.core.ops import if_, BranchOp, ParserOp, PromptOp``."""

from operonx.branch import Branch, BranchOp, if_
from operonx.textops import ParserOp, PromptOp

__all__ = ["Branch", "BranchOp", "ParserOp", "PromptOp", "if_"]
