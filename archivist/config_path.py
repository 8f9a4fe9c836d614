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
        _parsed = (text, _remembered(text))
    import copy

    return copy.deepcopy(_parsed[1])


CACHE_FILES = 32  # configs remembered per account (tests and trials make many)


def _remembered(text: str) -> Any:
    """What yaml.safe_load gave for this very text in an earlier command (a JSON copy in this
    account's cache folder), else parse it now and remember it: importing yaml and parsing cost
    every command about 20 ms of the 0.3 s it may take. The copy holds the text it was parsed
    from and is used only for exactly that text; a value JSON would change (a date, a number
    key) is never remembered, and a copy that cannot be read is parsed again."""
    import json

    path = _cache_path(text)
    try:
        with open(path or "", encoding="utf-8") as f:
            kept = json.load(f)
        if isinstance(kept, dict) and kept.get("text") == text:
            return kept["value"]
    except (OSError, ValueError, KeyError):  # none yet, or not one this account can use
        pass
    import yaml  # only when there is a config not read before

    value = yaml.safe_load(text)
    if path is not None:
        try:
            if json.loads(json.dumps(value)) == value:
                _remember(path, json.dumps({"text": text, "value": value}, ensure_ascii=False))
        except (TypeError, ValueError, OSError):
            pass
    return value


def _cache_path(text: str) -> Path | None:
    import binascii

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None  # no home: nothing is remembered
    key = binascii.crc32(text.encode("utf-8", "surrogatepass"))
    return Path(base) / "archivist" / f"config-{key:08x}.json"


def _remember(path: Path, data: str) -> None:
    """Write the copy through a temporary name (a reader never sees half of one), 0600 in a 0700
    folder, and keep only the CACHE_FILES newest."""
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = folder / f".{path.name}.{os.getpid()}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(data)
    os.replace(temp, path)
    kept = sorted(folder.glob("config-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in kept[CACHE_FILES:]:
        old.unlink(missing_ok=True)
