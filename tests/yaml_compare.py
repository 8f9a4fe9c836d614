"""Comparing what two YAML readers built (the fast log reader against `yaml.safe_load`)."""

from __future__ import annotations

from datetime import datetime


def same_value(a: object, b: object) -> bool:
    """Equal values of equal types all the way down (True is not 1, offsets must match, NaN is NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_value(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    if isinstance(a, float) and a != a:
        return b != b  # type: ignore[comparison-overlap]
    if isinstance(a, datetime):
        return a == b and a.utcoffset() == b.utcoffset()  # type: ignore[union-attr]
    return a == b
