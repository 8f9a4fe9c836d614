"""PyYAML's one costly line at import, compiled the cheap way.

`yaml.reader.Reader.NON_PRINTABLE` is a negated class over all of Unicode; compiling it costs
9 ms, a sixth of a command's start-up (every command that reads config.yaml or a log imports
yaml). The same set, written as the few characters it matches, compiles in 0.3 ms. `prime()`
puts that pattern into `re`'s cache under yaml's own source text, so the `re.compile` in
yaml/reader.py finds it there. It matches exactly the same characters (tests/test_cli_startup.py
compares both over every code point and checks that yaml took it); on a Python whose `re` keeps
no such cache, or once yaml is imported, it does nothing.
"""

from __future__ import annotations

import re
import sys

# yaml/reader.py, PyYAML 5.1 to 6.0.x, character for character
YAML_SOURCE = "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
# what it matches: C0 controls but tab, LF and CR; DEL and C1 but NEL; surrogates; U+FFFE, U+FFFF
SAME_SET = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]|[\ud800-\udfff\ufffe\uffff]"


def prime() -> None:
    """Before the first `import yaml` (idempotent, cheap)."""
    if "yaml.reader" in sys.modules:
        return
    cache = getattr(re, "_cache", None)
    key = (str, YAML_SOURCE, 0)
    if isinstance(cache, dict) and key not in cache:
        cache[key] = re.compile(SAME_SET)
