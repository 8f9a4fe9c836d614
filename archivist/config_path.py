"""Which config.yaml a command uses: --config, then $ARCHIVIST_CONFIG, then ./config.yaml.

A leaf of its own, beside config.py (which reads the file), because the CLI asks it before it
imports anything else: a usage error or `--help` is said in the config's `ui.language`, and loading
config.py (its dataclasses) for that would cost every such answer a fifth of its time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_parsed: tuple[str, Any] | None = None  # the config text parsed last, and what YAML made of it


def find_config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """--config, then $ARCHIVIST_CONFIG, then ./config.yaml; None means built-in defaults."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("ARCHIVIST_CONFIG")
    if env:
        return Path(env)
    here = Path.cwd() / "config.yaml"
    return here if here.exists() else None


def parse_config_text(text: str) -> Any:
    """`yaml.safe_load(text)`, parsed once per process for the same text: the CLI reads
    `ui.language` before parsing the command line (cli/usage_words.py) and config.py reads the
    whole file after, and the pure-Python parse of the shipped config.yaml costs 3-6 ms. Each
    caller gets its own copy (config.py's validation writes into its sections)."""
    global _parsed
    if _parsed is None or _parsed[0] != text:
        import yaml  # only when there is a config to read

        _parsed = (text, yaml.safe_load(text))
    import copy

    return copy.deepcopy(_parsed[1])
