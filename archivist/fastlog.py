"""A fast reader for logs in exactly the shape `record.dump_yaml` writes, tried first by
`record.parse_record` (every reader of a log: the index's rebuild, doctor, the commands).

PyYAML (even its C loader) spends ~0.6 ms on a typical log, which dominates a rebuild or a
`doctor --full` of 100,000 records. Logs archivist wrote itself use a tiny subset of YAML: block mappings two levels deep,
sequences of scalars or of flat mappings, plain or single-quoted scalars on one line. This reader
handles only that subset and returns None for anything else (comments, flow collections, block
scalars, escapes, anchors, odd indentation, …), so hand-edited logs go through `yaml.safe_load`.
For the subset it builds exactly what SafeLoader builds: plain scalars are resolved by PyYAML's
own resolver and constructor unless they are obviously text, a simple integer or a timestamp.
Tests compare the two readers on every generated log and on awkward hand edits.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_NOT_PLAIN = re.compile(r": | #|\t|:$")
_INT = re.compile(r"^(?:0|[1-9][0-9]*)$")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?[+-]\d\d:\d\d$")
# first characters PyYAML's implicit resolvers look at (digits, signs, null/bool/float words, …)
_RESOLVED_START = frozenset("0123456789-+.~nNtTfFyYoO<=")
_INDICATOR_START = frozenset("[]{}#&*!|>'\"%@`,?:-")
_SPECIAL = frozenset("&*'\"[{")
_STR_TAG = "tag:yaml.org,2002:str"


@functools.cache
def _yaml() -> tuple[Any, Any, Any, type[Exception]]:
    """PyYAML's resolver, safe constructor, ScalarNode and YAMLError, loaded at the first scalar
    that needs them: a command that reads no log (`due`, `search`) never imports yaml."""
    import yaml

    return yaml.resolver.Resolver(), yaml.constructor.SafeConstructor(), yaml.ScalarNode, yaml.YAMLError


def _tag(text: str) -> str:
    resolver, _constructor, scalar, _error = _yaml()
    tag: str = resolver.resolve(scalar, text, (True, False))
    return tag


class _Unsupported(Exception):
    pass


def _plain(text: str) -> Any:
    if not text:
        return None
    first = text[0]
    if first in _INDICATOR_START:
        if first == "-" and len(text) > 1 and text[1] not in " \t":
            pass  # "-5", "-x": still a plain scalar
        else:
            raise _Unsupported(text)
    if _NOT_PLAIN.search(text):
        raise _Unsupported(text)
    if first not in _RESOLVED_START:
        return text
    if _INT.match(text):
        return int(text)
    if _TIMESTAMP.match(text):
        return datetime.fromisoformat(text)
    if text in _resolved:
        return _resolved[text]
    tag = _tag(text)
    if tag == _STR_TAG:
        value: Any = text
    else:
        _resolver, constructor, scalar, error = _yaml()
        try:
            value = constructor.construct_object(scalar(tag, text))
        except error:
            raise _Unsupported(text) from None
    if len(_resolved) < 5000 and isinstance(value, (str, int, float, bool, type(None))):
        _resolved[text] = value  # immutable results only: a cached value may be shared
    return value


def _scalar(text: str, anchors: dict[str, Any]) -> Any:
    text = text.strip(" ")
    if text and text[0] not in _SPECIAL:
        return _plain(text)
    if text[:1] in "&*":
        # anchors and aliases: archivist never writes them and the log reader refuses aliases
        # (alias bombs), so the slow path decides and reports
        raise _Unsupported(text)
    if text.startswith("'"):
        if len(text) < 2 or not text.endswith("'"):
            raise _Unsupported(text)
        inner = text[1:-1]
        if "'" in inner.replace("''", ""):
            raise _Unsupported(text)
        return inner.replace("''", "'")
    if text.startswith('"'):
        if len(text) < 2 or not text.endswith('"') or "\\" in text or '"' in text[1:-1]:
            raise _Unsupported(text)
        return text[1:-1]
    if text == "[]":
        return []
    if text == "{}":
        return {}
    return _plain(text)


_keys: dict[str, str] = {}
_resolved: dict[str, Any] = {}


def _key(text: str) -> str:
    if text in _keys:
        return text
    if not _KEY.match(text) or _tag(text) != _STR_TAG:
        raise _Unsupported(text)
    if len(_keys) < 1000:
        _keys[text] = text
    return text


_SLOW_START = _RESOLVED_START | _INDICATOR_START | _SPECIAL | {" "}


def _value(v: str, anchors: dict[str, Any]) -> Any:
    """`_scalar` with the shapes dump_yaml writes most (quoted codes, text, timestamps) up front."""
    c = v[:1]
    if c == "'" and len(v) > 1 and v[-1] == "'" and "'" not in v[1:-1]:
        return v[1:-1]
    if c and c not in _SLOW_START and v[-1] != " " and not _NOT_PLAIN.search(v):
        return v  # plain text no implicit resolver looks at
    if v in _resolved:
        return _resolved[v]  # stages and kinds ("following", "note"), resolved once
    if c.isdigit() and _TIMESTAMP.match(v):
        return datetime.fromisoformat(v)
    return _scalar(v, anchors)


def _pair(line: str) -> tuple[str, str | None]:
    key, sep, value = line.partition(": ")
    if sep and key in _keys:
        return key, value
    return _split(line)


def _split(line: str) -> tuple[str, str | None]:
    """`key: value` → (key, value); `key:` → (key, None)."""
    if line.endswith(":"):
        return _key(line[:-1]), None
    key, sep, value = line.partition(": ")
    if not sep:
        raise _Unsupported(line)
    return _key(key), value


# Bytes yaml.safe_load refuses (C0 controls and DEL: its Reader's NON_PRINTABLE) or that
# dump_yaml never writes (tab, CR); C1 controls, NEL and the Unicode line and paragraph separators
# are checked below. A log holding any of them goes to yaml.safe_load, so both agree on validity.
_CONTROLS = bytes(range(0x0A)) + bytes(range(0x0B, 0x20)) + b"\x7f"
_C1 = re.compile(rb"\xc2[\x80-\x9f]")


def load_bytes(raw: bytes) -> dict[str, Any] | None:
    """The log's mapping, or None when it is not in dump_yaml's shape (use yaml.safe_load then).

    About 2 µs of checks on a 2 KB log, done on the bytes where they are cheapest.
    """
    if len(raw.translate(None, _CONTROLS)) != len(raw) or raw.startswith(b"\xef\xbb\xbf"):
        return None
    if b"\xc2" in raw and _C1.search(raw):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\u2028" in text or "\u2029" in text or "\ufffe" in text or "\uffff" in text:
        return None
    try:
        return _load(text.split("\n")) or None
    except (_Unsupported, ValueError):  # a YAMLError of a scalar is an _Unsupported (see _plain)
        return None


def _load(lines: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    anchors: dict[str, Any] = {}
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if not line:
            if i == n - 1:
                break
            raise _Unsupported(
                "blank line"
            )  # untranslated: internal: makes the fast reader fall back to the YAML parser, never shown
        if line[0] == " " or line[0] == "-":
            raise _Unsupported(line)
        key, value = _pair(line)
        if key in out:
            raise _Unsupported(key)  # a key twice: the slow path refuses it, saying which
        i += 1
        if value is not None:
            out[key] = _value(value, anchors)
            continue
        # a block below the key: "  sub: v" lines or "- item" lines
        nxt = lines[i] if i < n else ""
        if nxt.startswith("  ") and not nxt.startswith("   "):
            sub: dict[str, Any] = {}
            while i < n and lines[i].startswith("  "):
                k, v = _pair(lines[i][2:])
                if v is None or k in sub:
                    raise _Unsupported(lines[i])
                sub[k] = _value(v, anchors)
                i += 1
            out[key] = sub
        elif nxt.startswith("- "):
            items: list[Any] = []
            while i < n and lines[i][:2] == "- ":
                body = lines[i][2:]
                i += 1
                if _is_pair(body):
                    k, v = _pair(body)
                    if v is None:
                        raise _Unsupported(body)
                    item = {k: _value(v, anchors)}
                    while i < n and lines[i][:2] == "  ":
                        k, v = _pair(lines[i][2:])
                        if v is None or k in item:
                            raise _Unsupported(lines[i])
                        item[k] = _value(v, anchors)
                        i += 1
                    items.append(item)
                else:
                    if i < n and lines[i][:2] == "  ":
                        raise _Unsupported(body)  # a plain scalar continued on the next line
                    items.append(_value(body, anchors))
            out[key] = items
        else:
            out[key] = None
    return out


def _is_pair(body: str) -> bool:
    if body.startswith(("'", '"')):
        return False
    return body.endswith(":") or ": " in body
