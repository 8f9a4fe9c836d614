"""Work spread over forked worker processes, finished in this one when the workers cannot be had."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_forked(fn: Callable[[T], R], chunks: Sequence[T], workers: int) -> Iterator[R]:
    """`fn` of each chunk, in order, computed by `workers` forked processes; if the workers could not
    start or died (no /dev/shm, out of memory), the chunks not yet answered are done here instead."""
    import multiprocessing  # here, not at the top: every CLI start would pay for them
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    done = 0
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            for part in pool.map(fn, chunks):
                done += 1
                yield part
    except (BrokenProcessPool, OSError):
        pass  # the rest is done here
    for chunk in chunks[done:]:
        yield fn(chunk)
