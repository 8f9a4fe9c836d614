"""Per-folder steps of the daemon: enforcement, hand edits, violations, crash leftovers."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from .. import journal, store, workflow
from ..config import Config
from ..errors import ArchivistError
from ..record import LOG_NAME, TOOL_ACTOR, Record, load_record, parse_record, read_log
from ..store import relative_to_root
from .edits import Baseline, baseline_of, describe, hand_edits, history_kept
from .enforce import enforce_folder
from .feeder import IndexFeeder
from .own import LOG_TMP, OwnWrites
from .state import DaemonState

log = logging.getLogger("archivist.daemon")


EDITED_BY = TOOL_ACTOR


def _folder_stats(folder: Path) -> tuple[int, int, int] | None:
    try:
        d = os.stat(folder).st_mtime_ns
    except OSError:
        return None
    try:
        st = os.stat(folder / LOG_NAME)
        return d, st.st_mtime_ns, st.st_size
    except OSError:
        return d, 0, -1


class FolderSteps:
    """The daemon's work on one record folder: enforce naming, log hand edits, report, tell the index.

    A part of `Daemon` (see service.py), split out by concept; the attributes below are the
    daemon's, set in `Daemon.__init__`.
    """

    cfg: Config
    layout: store.Layout
    state: DaemonState
    feeder: IndexFeeder
    counts_dirty: bool
    own: OwnWrites

    def _safe_process(self, folder: Path, live: bool = True, known: Record | None = None) -> None:
        try:
            self.process_folder(folder, live, known)
        except Exception as e:  # noqa: BLE001 - one odd folder must not stop the daemon
            log.exception("could not process %s: %s", folder, e)

    def process_folder(self, folder: Path, live: bool = True, known: Record | None = None) -> None:
        """Enforce, detect hand edits, report, and tell the index: the daemon's work on one folder.

        `live` is False for folders queued by a reconcile: the index's own reconcile re-reads
        those, so only what the daemon itself changes (fixes, new events, violations) is sent.
        `known`: the log as the daemon just wrote it (filing), not parsed again while the file is
        still that one. A live event caused only by the daemon's own writes since it last looked
        (see own.py) is skipped.
        """
        if live and known is None and self.own.unchanged(folder):
            return
        self.own.begin(folder)
        if not folder.is_dir():
            lead = self.state.drop_folder(folder)
            self.feeder.remove(folder)
            self.counts_dirty = True
            if lead:
                log.info("record folder gone: %s (%s)", relative_to_root(self.cfg, folder), lead)
            return
        area = self.layout.area_of(folder)
        if area is None:
            return
        self._remove_crash_leftovers(folder)
        stats = _folder_stats(folder)
        result = enforce_folder(self.cfg, area, folder, known)
        for v in result.fixed:
            log.info("fixed %s: %s → %s", v.rule, relative_to_root(self.cfg, Path(v.path)), Path(v.fix_to or "").name)
        for msg in result.skipped:
            log.warning("could not fix: %s", msg)
        if result.folder != folder:
            self.state.drop_folder(folder)
            self.feeder.remove(folder)
            folder = result.folder
            stats = _folder_stats(folder)
            live = True
        if live:
            self.feeder.refresh(folder)
        rec = result.record
        if rec is not None:
            prev = self.state.baseline(rec.lead)
            if prev and prev[1] != str(folder) and not Path(prev[1]).exists():
                log.info(
                    "record %s moved: %s → %s",
                    rec.code,
                    relative_to_root(self.cfg, Path(prev[1])),
                    relative_to_root(self.cfg, folder),
                )
                self.feeder.remove(Path(prev[1]))
            now = baseline_of(rec)
            old = prev[0] if prev else None
            # were the events seen last time all kept? (134 µs to hash again for 18 events: once)
            kept = old is not None and history_kept(old, rec)
            changed = hand_edits(old, rec, now, kept) if old else []
            read = rec
            rec, now = self._restore_and_report(folder, rec, old, now, changed, kept)
            self.state.put_baseline(rec.lead, now, folder)
            if old is None or old.events_hash != now.events_hash:  # the text only when it changed
                # asked again only of a record restore_events wrote anew
                added = kept if rec is read else old is not None and history_kept(old, rec)
                if not (added and old and self.state.add_events(rec.lead, old.events_count, rec.events[old.events_count :])):
                    self.state.put_events(rec.lead, rec.events)
        vjson = [v.to_json() for v in result.violations]
        before = self.state.folder(folder)
        if before is None or before["violations"] != vjson:
            for v in result.violations:
                log.warning("%s: %s — %s", v.rule, relative_to_root(self.cfg, Path(v.path)), v.message)
            if before and before["violations"] and not vjson:
                log.info("resolved: %s has no naming problems now", relative_to_root(self.cfg, folder))
            self.counts_dirty = True
        if live or (before["violations"] if before else []) != vjson:
            self.feeder.set_violations(folder, list(result.violations))
        invalid = any(v.rule == "invalid-log" for v in result.violations)
        self.state.put_folder(folder, rec.lead if rec else None, stats or (0, 0, -1), vjson, invalid)
        if rec is not None and live:
            self.own.looked(folder, rec.ident)

    def _promote(self, tmp: Path) -> bool:
        """A complete, valid log in a dead writer's temp file with no log beside it (a `register`
        killed before its rename) is the record's only log: finish the write, never delete it."""
        try:
            _st, raw = read_log(tmp)
            parse_record(raw, tmp)
            os.rename(tmp, tmp.with_name(LOG_NAME))
            store.fsync_dir(tmp.parent)
        except (ArchivistError, OSError):
            return False
        log.info("finished a log write a crash interrupted: %s", relative_to_root(self.cfg, tmp.with_name(LOG_NAME)))
        return True

    def _restore_and_report(
        self, folder: Path, rec: Record, before: Baseline | None, now: Baseline, changed: list[str], kept: bool
    ) -> tuple[Record, Baseline]:
        """Put back events a save dropped (known from the last look and from the journal of
        confirmed events) and log one `edited` event naming what changed by hand."""
        items = journal.entries(self.layout.state, rec.lead)
        journaled = [ev for ev, _seen in items]
        tidy = journal.needs_tidy(items)
        events_changed = before is not None and before.events_hash != now.events_hash
        # events only added (filing, an action): the ones seen last time are all there, so their
        # stored text need not be parsed to find which are missing (none are)
        appended = events_changed and kept
        known = self.state.events(rec.lead) if events_changed and not appended else []
        lost = journal.dropped_events(known + journaled, rec.events) if known or journaled else []
        if not lost and not changed:
            if tidy:
                self._forget_journaled(folder, rec.lead)
            return rec, now
        if appended:
            known = self.state.events(rec.lead)  # restore_events is given every event known
        plain = [f for f in changed if f != "events"]
        if lost:
            note = describe(before, rec, plain, now) if before and plain else ""
        else:
            note = describe(before, rec, changed, now) if before else ""
        try:
            # every event known, not only those missing now: an editor saving meanwhile may drop more
            rec = workflow.restore_events(self.cfg, folder, known + journaled, EDITED_BY, note, changed or ["events"])
            now = baseline_of(rec)
            log.info("hand edit in %s: %s", relative_to_root(self.cfg, folder), rec.events[-1].get("note", ""))
        except ArchivistError as e:
            log.warning("hand edit in %s seen but not logged: %s", relative_to_root(self.cfg, folder), e)
        if journaled:
            self._forget_journaled(folder, rec.lead)
        return rec, now

    def _forget_journaled(self, folder: Path, lead: str) -> None:
        """Drop journal entries the log holds now (read again under the record lock)."""
        try:
            with store.record_lock(self.layout, lead):
                present = {journal.event_key(ev) for ev in load_record(folder).events}
                journal.forget(self.layout.state, lead, present)
        except ArchivistError as e:
            log.warning("could not tidy the event journal of %s: %s", lead, e)

    def _remove_crash_leftovers(self, folder: Path) -> None:
        """Delete the temp file of an atomic log write whose process died (kill -9, power cut).

        It is archivist's own unfinished write, never a user's file: the log beside it is intact.
        """
        try:
            names = os.listdir(folder)
        except OSError:
            return
        for name in names:
            m = LOG_TMP.match(name)
            if not m or store.pid_alive(int(m.group(1))):
                continue
            if not os.path.lexists(folder / LOG_NAME) and self._promote(folder / name):
                continue
            try:
                os.unlink(folder / name)
                log.info("removed an unfinished write left by a crash: %s", relative_to_root(self.cfg, folder / name))
            except OSError:
                pass
