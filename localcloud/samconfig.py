"""Read an app's deploy settings from ``samconfig.toml``, as ``sam deploy`` would.

In the monorepo the root file holds one config env per app (``[<app>.deploy.parameters]``);
an ejected app has its own file with a ``default`` env.
"""

from __future__ import annotations

import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DeploySettings:
    """What ``sam deploy --config-env <app>`` would use for the app."""

    stack_name: str
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    capabilities: tuple[str, ...] = ()


def find_config(app_dir: Path) -> tuple[Path, str] | None:
    """The samconfig file that configures ``app_dir`` and the config env to read in it."""
    if (app_dir / "samconfig.toml").is_file():
        return app_dir / "samconfig.toml", "default"
    for folder in app_dir.parents:
        if (folder / "samconfig.toml").is_file():
            return folder / "samconfig.toml", app_dir.name
    return None


def _pairs(value: Any) -> dict[str, str]:
    """``"A=1 B='x y'"`` or ``["A=1", "B=x y"]`` -> ``{"A": "1", "B": "x y"}``."""
    items = shlex.split(value) if isinstance(value, str) else [str(v) for v in value or []]
    pairs = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not sep:
            raise ValueError(f"samconfig entry {item!r} is not Key=Value")
        pairs[key] = val
    return pairs


def deploy_settings(app_dir: Path) -> DeploySettings:
    """The app's deploy settings; the folder name as stack name when nothing is configured."""
    found = find_config(app_dir)
    if found is None:
        return DeploySettings(stack_name=app_dir.name)
    path, env = found
    with path.open("rb") as handle:
        config = tomllib.load(handle)
    section = config.get(env, {})
    params = {
        **section.get("global", {}).get("parameters", {}),
        **section.get("deploy", {}).get("parameters", {}),
    }
    capabilities = params.get("capabilities", ())
    if isinstance(capabilities, str):
        capabilities = capabilities.split()
    return DeploySettings(
        stack_name=str(params.get("stack_name", app_dir.name)),
        parameter_overrides=_pairs(params.get("parameter_overrides")),
        tags=_pairs(params.get("tags")),
        capabilities=tuple(capabilities),
    )
