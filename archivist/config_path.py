"""Which config.yaml a command uses: --config, then $ARCHIVIST_CONFIG, then ./config.yaml.

A leaf of its own, beside config.py (which reads the file), because the CLI asks it before it
imports anything else: a usage error or `--help` is said in the config's `ui.language`, and loading
config.py (its dataclasses) for that would cost every such answer a fifth of its time.
"""

from __future__ import annotations

import os
from pathlib import Path


def find_config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """--config, then $ARCHIVIST_CONFIG, then ./config.yaml; None means built-in defaults."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("ARCHIVIST_CONFIG")
    if env:
        return Path(env)
    here = Path.cwd() / "config.yaml"
    return here if here.exists() else None
