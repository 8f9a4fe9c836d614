"""The Violation type: one broken naming rule, as doctor, the daemon and the index report it.

A leaf (it imports nothing of archivist) so the index can store violations without importing the
checks that find them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Violation:
    rule: str
    path: str
    message: str
    fixable: bool = False
    fix_to: str | None = None
    code: str | None = None

    def to_json(self) -> dict[str, object]:
        return asdict(self)
