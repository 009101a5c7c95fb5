"""0.7.1's import path of the resource hub: ``from operonx.core.registry import ResourceHub``.

The names are those of :mod:`operonx.resources`; this module only gives them 0.7.1's import path.
"""

from __future__ import annotations

from operonx.resources import (
    BOOTSTRAP_ENV_PATHS,
    EnvVarUnsetError,
    ResourceHub,
    ResourceHubWarning,
)

__all__ = ["BOOTSTRAP_ENV_PATHS", "EnvVarUnsetError", "ResourceHub", "ResourceHubWarning"]
