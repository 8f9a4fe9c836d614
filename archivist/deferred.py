"""Work a one-shot command leaves until its answer is out.

A reading command without a daemon starts a detached walk of every record folder so the next
command sees hand edits (index/catchup.py). Started before the answer, that walk shares the
machine's two cores with it and cost `due` a third of its time at 100,000 folders, for nothing:
the walk cannot change this answer, only the next one. So the CLI runs each command inside
`until_done()`, and `later(work)` keeps the work until the command has answered (the web app, the
TUI and the daemon never enter it: for them `later` says no and the caller does the work now).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

_held: list[Callable[[], object]] | None = None


def later(work: Callable[[], object]) -> bool:
    """Keep `work` for the end of the command being run, if one is (True); else False."""
    if _held is None:
        return False
    _held.append(work)
    return True


@contextlib.contextmanager
def until_done() -> Iterator[None]:
    """Run what `later` kept once the block is left, however it is left."""
    global _held
    outer, _held = _held, []
    try:
        yield
    finally:
        kept, _held = _held, outer
        for work in kept:
            work()
