"""A writer killed with SIGKILL at any point never leaves a broken log or loses a returned event."""

from __future__ import annotations

import os
import random
import signal
import time

from archivist import workflow
from archivist.config import Config
from archivist.record import load_record


def _writer(cfg: Config, code: str, start: int, wfd: int) -> None:
    """Child: append events forever, reporting each one only after log_event has returned."""
    i = start
    while True:
        workflow.log_event(cfg, code, kind="note", note=f"n{i}", by="01")
        os.write(wfd, f"n{i}\n".encode())
        i += 1


def test_sigkill_never_corrupts_or_loses_events(cfg: Config) -> None:
    rec = workflow.register(cfg, company="شرکت آزمون خرابی", staff="01")
    rng = random.Random(20261123)
    returned: list[str] = []
    counter = 0
    for _ in range(100):
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            os.close(rfd)
            try:
                _writer(cfg, rec.lead, counter, wfd)
            finally:
                os._exit(0)
        os.close(wfd)
        r = os.fdopen(rfd, "rb")
        first = r.readline()  # the child is up and writing (a loaded machine may take a while)
        time.sleep(rng.uniform(0.0, 0.03))  # then a kill at a random point of a later write
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with r:
            done = (first + r.read()).decode().split()
        returned.extend(done)
        counter += len(done) + 1000  # fresh note names for the next child
        # the log must parse, and every event whose call returned must be in it
        events = load_record(rec.folder).events
        notes = {e["note"] for e in events}
        missing = [n for n in returned if n not in notes]
        assert not missing, f"events lost after SIGKILL: {missing[:5]}"
    assert len(returned) >= 100, "every child reported at least one event before its kill"
