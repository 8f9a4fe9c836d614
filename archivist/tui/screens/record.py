"""One record: header, numbers, timeline, files, and exactly the actions its stage allows.

Keys and the menu offer only `workflow.allowed_actions(record)`. A key of an action the stage
does not allow still asks the domain layer, whose refusal (what to do instead) is shown on
screen: that teaches the procedure instead of ignoring the key. Nothing is written from that
path: the log is re-read first, and if it has moved on so that the action is now allowed, the
action's dialog opens as for any allowed key, so every change goes through the same dialog.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import traceback
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.markup import escape
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from ... import workflow
from ...actions import ACTIONS, perform, refusal
from ...dates import as_datetime, fmt
from ...errors import ArchivistError
from ...i18n import N_, _, action_label, contact_label, kind_label, stage_label
from ...notify import child_env
from ...record import LOG_NAME, Record
from ...store import relative_to_root
from ..bidi import shape
from ..office import OfficeScreen
from ..widgets.columns import SCROLLBAR, Column, clip, fit, widest
from ..words import translate_bindings
from .dialogs import ActionDialog, MenuDialog

MAX_FILES = 500
PALETTE_HINT = 16  # the footer's command palette hint ("^p palette") and its margin
DISK_CHECK_S = 2.0


def _action_bindings() -> list[Binding]:
    out = []
    for spec in ACTIONS.values():
        out.append(Binding(spec.key, f"act('{spec.name}')", spec.label, show=False))
        out.append(Binding(spec.key, f"refused('{spec.name}')", spec.label, show=False))
    return out


def list_files(folder: Path, limit: int = MAX_FILES) -> list[tuple[str, int, float]]:
    """(path relative to the folder, size, mtime) of the record's files, the log excluded."""
    out: list[tuple[str, int, float]] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if p.parent == folder and name == LOG_NAME:
                continue
            try:
                st = p.stat()
            except OSError:
                continue
            out.append((str(p.relative_to(folder)), st.st_size, st.st_mtime))
            if len(out) >= limit:
                return out
    return out


def system_open(path: Path, env: dict[str, str] | None = None) -> str | None:
    """Open a file or folder with the desktop's opener; the reason when there is none. `env` is the
    opener's environment (`notify.child_env(cfg)`: without the Telegram token)."""
    opener = shutil.which("xdg-open") or shutil.which("open")
    if not opener:
        return _("no system opener (xdg-open) on this machine; the path is {path}").format(path=path)
    subprocess.Popen(
        [opener, str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    return None


class RecordScreen(OfficeScreen):
    # The footer keeps the way around (F2 F3 F4, back, menu); the stage's actions are in the menu
    # (m), the palette and the header line, so at 80 columns they never push navigation off.
    BINDINGS = [
        Binding("escape", "back", N_("back")),
        Binding("m", "menu", N_("actions")),
        Binding("o", "open_folder", N_("folder")),
        Binding("y", "copy('phone')", N_("copy phone"), show=False),
        Binding("Y", "copy('email')", N_("copy email"), show=False),
        *_action_bindings(),
    ]

    def __init__(self, path: str | None = None, code: str | None = None) -> None:
        super().__init__()
        translate_bindings(self)
        self.path = path
        self.code = code
        self.record: Record | None = None
        self.allowed: list[str] = []
        self._files: list[tuple[str, int, float]] = []
        self._filled_at = 0  # the width the tables were laid out for

    def compose(self) -> ComposeResult:
        yield Header()
        mode = self.cfg.display.bidi
        yield Static(shape(_("loading…"), mode), id="record-head")
        yield Static("", id="message", markup=False)
        with TabbedContent(id="tabs"):
            with TabPane(shape(_("timeline"), mode), id="tab-timeline"):
                yield DataTable(id="timeline", cursor_type="row", zebra_stripes=True)
            with TabPane(shape(_("numbers"), mode), id="tab-numbers"):
                yield Static("", id="numbers")
            with TabPane(shape(_("files"), mode), id="tab-files"):
                yield DataTable(id="files", cursor_type="row")
        yield Footer()

    def on_resize(self) -> None:
        self._place_action_keys()
        if self.record is not None and self.size.width != self._filled_at:
            self._fill_timeline(self.record)
            self._fill_files(self._files)

    def _place_action_keys(self) -> None:
        """The footer keeps the way around (back, actions, folder, F2 F3 F4); the stage's action keys
        join it only when all of them fit beside it in the language shown, else they stay on the
        header line and in the menu (at 80 columns always; in Persian at 120 too)."""
        table = self._bindings.key_to_bindings
        acts = [b for bindings in table.values() for b in bindings if b.action.startswith("act(")]
        allowed = [b for b in acts if b.action[5:-2] in self.allowed]
        way = [a.binding for a in self.active_bindings.values() if a.binding.show and not a.binding.action.startswith("act(")]
        need = sum(self._footer_cells(b) for b in way + allowed) + PALETTE_HINT
        wide = need <= self.size.width
        changed = False
        for key, bindings in list(table.items()):
            new = [replace(b, show=wide) if b.action.startswith("act(") and b.show != wide else b for b in bindings]
            if new != bindings:
                table[key] = new
                changed = True
        if changed:
            self.refresh_bindings()

    def _footer_cells(self, binding: Binding) -> int:
        """What one key takes in the footer: the key as shown, a space, its label, two spaces."""
        return cell_len(self.app.get_key_display(binding)) + 1 + cell_len(binding.description) + 2

    def on_mount(self) -> None:
        self.reload()
        self.set_interval(DISK_CHECK_S, self._check_disk)

    def _check_disk(self) -> None:
        if self.record is not None and self.app.screen is self:
            self._reload_if_changed()

    @work(exclusive=True, group="disk")
    async def _reload_if_changed(self) -> None:
        """A hand edit, the daemon or a colleague's CLI changed the log: show what is on disk now."""
        rec = self.record
        if rec is None or rec.folder is None:
            return
        source = self.office.source
        log = rec.folder / LOG_NAME
        try:
            mtime = await source.call(lambda: log.stat().st_mtime_ns)
        except OSError:
            mtime = -1  # moved or deleted: reload finds it by code
        if mtime != rec.mtime_ns:
            self.reload()

    # -- loading and showing ------------------------------------------------------------------------
    @work(exclusive=True, group="load")
    async def reload(self) -> None:
        loaded = await self._load()
        if loaded is not None:
            self.show_record(loaded[0], loaded[1] or [])

    async def _load(self, unless_same_as: Record | None = None) -> tuple[Record, list[tuple[str, int, float]] | None] | None:
        """The record as it is on disk now, and its files: None when it is the same log in the same
        folder as `unless_same_as` (no walk of the folder). None overall: the reason is shown."""
        source = self.office.source
        try:
            rec = await source.call(source.load, self.path, self.code)
            same = unless_same_as is not None and rec.mtime_ns == unless_same_as.mtime_ns and rec.folder == unless_same_as.folder
            files = None if same else await source.call(list_files, rec.folder)
        except (ArchivistError, OSError) as e:
            self.show_message(str(e), error=True)
            return None
        return rec, files

    def show_record(self, rec: Record, files: list[tuple[str, int, float]]) -> None:
        self.record = rec
        self.path = str(rec.folder)
        self.code = rec.code
        self.allowed = workflow.allowed_actions(rec)
        self.query_one("#record-head", Static).update(self.header_markup(rec))
        self.query_one("#numbers", Static).update(self.numbers_markup(rec))
        self._fill_timeline(rec)
        self._fill_files(files)
        self._place_action_keys()
        self.refresh_bindings()

    def header_markup(self, rec: Record) -> str:
        cfg, mode = self.cfg, self.cfg.display.bidi
        e = lambda s: escape(shape(str(s), mode))  # noqa: E731
        t = lambda s: escape(shape(s, mode))  # noqa: E731 - a translated label
        since = rec.stage_since()
        codes = f"{t(_('applicant'))} [b]{rec.lead}[/b]" + (f" · {t(_('case'))} [b]{rec.case}[/b]" if rec.case else "")
        staff = f"{t(_('staff'))} {rec.staff} {e(cfg.staff.get(rec.staff, '?'))}"
        lines = [
            f"[b]{e(rec.company)}[/b] · {staff}",
            f"{codes} · {t(_('stage'))} [b]{t(stage_label(rec.status))}[/b]"
            + (f" {t(_('since'))} {fmt(since, cfg.calendar, cfg.timezone, time=False)}" if since else ""),
        ]
        c = rec.contact
        parts = []
        if c.get("person"):
            parts.append(e(c["person"]))
        phone = c.get("mobile") or c.get("phone")
        if phone:
            parts.append(
                f"[@click=screen.copy('phone')]☎ {escape(str(phone))}[/]"
            )  # untranslated: Textual markup / action strings; the words inside are translated
        if c.get("email"):
            parts.append(
                f"[@click=screen.copy('email')]✉ {escape(str(c['email']))}[/]"
            )  # untranslated: Textual markup / action strings; the words inside are translated
        if parts:
            lines.append(" · ".join(parts) + f"  [dim]({t(_('y/Y copy'))})[/dim]")
        nf = rec.next_followup
        folder = relative_to_root(self.cfg, rec.folder)
        lines.append(f"{t(_('next follow-up'))} {fmt(nf, cfg.calendar, cfg.timezone) or '—'} · {e(folder)}")
        keys = " · ".join(f"{ACTIONS[a].key} {t(action_label(a))}" for a in self.allowed if a in ACTIONS)
        if keys:
            lines.append(
                f"[dim]{keys} · m {t(_('more'))}[/dim]"
            )  # untranslated: Textual markup / action strings; the words inside are translated
        return "\n".join(lines)

    def numbers_markup(self, rec: Record) -> str:
        cfg, mode = self.cfg, self.cfg.display.bidi
        e = lambda s: escape(shape(str(s), mode))  # noqa: E731
        t = lambda s: escape(shape(s, mode))  # noqa: E731 - a translated label
        lines = [f"{t(_('contract'))}: {escape(rec.contract) if rec.contract else '—'}"]
        if rec.invoices:
            lines.append(f"{t(_('invoices'))}:")
            for inv in rec.invoices:
                date = inv.get("date")
                when = fmt(as_datetime(date, cfg.timezone), cfg.calendar, cfg.timezone, time=False) if date else ""
                bits = [f"  {escape(str(inv.get('number')))}", when]
                if inv.get("amount") is not None:
                    amount = f"{inv['amount']:,}" if isinstance(inv["amount"], int) else str(inv["amount"])
                    bits.append(f"{t(_('amount'))} {amount}")
                if inv.get("tax_id"):
                    bits.append(f"{t(_('tax ID'))} {escape(str(inv['tax_id']))}")
                if inv.get("note"):
                    bits.append(e(inv["note"]))
                lines.append("  ".join(b for b in bits if b))
        else:
            lines.append(f"{t(_('invoices'))}: —")
        lines.append(f"{t(_('services'))}: {', '.join(e(s) for s in rec.services) or '—'}")
        lines.append(f"{t(_('requests'))}: {', '.join(e(s) for s in rec.requests) or '—'}")
        if rec.related:
            lines.append(f"{t(_('related'))}: {', '.join(rec.related)}")
        contact = " · ".join(f"{t(contact_label(k))}: {e(v)}" for k, v in rec.contact.items() if v)
        lines.append(f"{t(_('contact'))}: {contact or '—'}")
        return "\n".join(lines)

    def _fill_timeline(self, rec: Record) -> None:
        """Events oldest first: every header whole, the note takes the rest of the width."""
        cfg, mode = self.cfg, self.cfg.display.bidi
        events = sorted(enumerate(rec.events), key=lambda ie: (as_datetime(ie[1]["at"], cfg.timezone) or datetime.min, ie[0]))
        rows = []
        for _i, ev in events:
            kind = kind_label(ev["kind"]) + (f" → {stage_label(ev['to'])}" if ev.get("to") and ev["kind"] != ev.get("to") else "")
            extra = " ".join(str(ev[k]) for k in ("case", "number") if ev.get(k))
            note = " · ".join(x for x in (extra, str(ev.get("note") or "")) if x)
            rows.append((fmt(as_datetime(ev["at"], cfg.timezone), cfg.calendar, cfg.timezone), str(ev["by"]), kind, note))
        kinds = [shape(kind, mode) for _w, _b, kind, _n in rows]
        layout = fit(
            [
                Column(shape(_("when"), mode), "when", 16),
                Column(shape(_("by"), mode), "by", 2),
                Column(shape(_("event"), mode), "event", min(30, widest(kinds, 8))),  # "contract → contracted" whole
                Column(shape(_("note"), mode), "note"),
            ],
            self.size.width - SCROLLBAR,
        )
        room = layout[-1][2]
        self._filled_at = self.size.width
        table = self.query_one("#timeline", DataTable)
        table.clear(columns=True)
        for label, key, width in layout:
            table.add_column(label, key=key, width=width)
        for (when, by, _kind, note), kind in zip(rows, kinds, strict=True):
            table.add_row(when, by, clip(kind, layout[2][2]), shape(clip(note, room), mode))
        if table.row_count:
            table.move_cursor(row=table.row_count - 1)

    def _fill_files(self, files: list[tuple[str, int, float]]) -> None:
        self._files = files
        table = self.query_one("#files", DataTable)
        table.clear(columns=True)
        mode = self.cfg.display.bidi
        layout = fit(
            [Column(shape(_("file"), mode), "file"), Column(shape(_("size"), mode), "size", 9)], self.size.width - SCROLLBAR
        )
        for label, key, width in layout:
            table.add_column(label, key=key, width=width)
        for rel, size, _mtime in files:
            table.add_row(shape(clip(rel, layout[0][2]), mode), _size(size), key=rel)
        tabs = self.query_one(TabbedContent)
        tabs.get_tab("tab-files").label = shape(f"{_('files')} ({len(files)}{'+' if len(files) >= MAX_FILES else ''})", mode)

    def show_message(self, text: str, error: bool = False) -> None:
        msg = self.query_one("#message", Static)
        msg.update(shape(text, self.cfg.display.bidi))
        msg.set_class(error, "error")
        msg.set_class(bool(text), "shown")

    # -- actions ------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("act", "refused"):
            if self.record is None:
                return False
            allowed = parameters[0] in self.allowed
            return allowed if action == "act" else not allowed
        if action == "copy" and self.record is not None:
            c = self.record.contact
            return bool(c.get("email") if parameters[0] == "email" else (c.get("mobile") or c.get("phone")))
        return True

    def action_act(self, name: str) -> None:
        assert self.record is not None
        spec = ACTIONS[name]
        rec = self.record
        mode = self.cfg.display.bidi
        title = (
            f"{shape(action_label(name), mode)} · {rec.code} {shape(rec.company, mode)} ({shape(stage_label(rec.status), mode)})"
        )
        self.app.push_screen(ActionDialog(spec, title, self.cfg, partial(self.submit_action, name), rec))

    def action_refused(self, name: str) -> None:
        """A key for an action the stage does not allow: ask the domain, which says why not."""
        self._explain_refusal(name)

    @work(exclusive=True, group="action")
    async def _explain_refusal(self, name: str) -> None:
        # the screen may be behind the disk (a colleague, the daemon, a hand edit)
        loaded = await self._load(unless_same_as=self.record)
        if loaded is None:
            return
        rec, files = loaded
        if files is not None:  # it moved on: show it as it is now
            self.show_record(rec, files)
        why = refusal(rec, name)
        if why is None:  # it has moved on and now allows the action: ask as for any allowed key
            self.show_message(_("{code} is {stage} now").format(code=rec.code, stage=stage_label(rec.status)))
            self.action_act(name)
        else:
            self.show_message(why, error=True)

    async def submit_action(self, name: str, values: dict[str, Any]) -> str | None:
        """Run the action through workflow; returns the refusal text, or None once it is on disk."""
        assert self.code is not None
        source = self.office.source
        try:
            rec = await source.call(perform, self.cfg, self.code, name, values, self.office.by)
        except (ArchivistError, OSError) as e:
            self.show_message(str(e), error=True)
            return str(e)
        except Exception as e:  # a bug below us: say so, keep the screen, re-read what is on disk
            self.log.error(traceback.format_exc())
            text = _("unexpected error ({error}); the log on disk is the truth, reloaded").format(
                error=f"{type(e).__name__}: {e}"
            )
            self.show_message(text, error=True)
            self.reload()
            return None  # close the dialog: the action may have been saved, a second OK could repeat it
        done = _("{action}: saved").format(action=action_label(name))
        if name == "convert":
            done = _("converted: case {case} · folder {folder}").format(
                case=rec.case, folder=relative_to_root(self.cfg, rec.folder)
            )
        elif name in ("contract", "invoice"):
            done = f"{action_label(name)} {rec.contract if name == 'contract' else rec.invoices[-1]['number']}"
        elif (
            name == "log"
            and rec.next_followup is not None
            and (self.record is None or rec.next_followup != self.record.next_followup)
        ):
            done += " · " + _("next follow-up {when}").format(when=fmt(rec.next_followup, self.cfg.calendar, self.cfg.timezone))
        self.show_message(done)
        files = await source.call(list_files, rec.folder)
        self.show_record(rec, files)
        return None

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        out: list[tuple[str, str, Any]] = [
            (f"{action_label(a)} ({ACTIONS[a].key})", action_label(a), partial(self.action_act, a))
            for a in self.allowed
            if a in ACTIONS
        ]
        out.append((_("open folder (o)"), _("open the record's folder with the system opener"), self.action_open_folder))
        return out

    def action_menu(self) -> None:
        if self.record is None:
            return
        mode = self.cfg.display.bidi
        entries = [(a, f"{ACTIONS[a].key}  {shape(action_label(a), mode)}") for a in self.allowed if a in ACTIONS]
        entries += [
            ("@open", f"o  {shape(_('open folder'), mode)}"),
            ("@phone", f"y  {shape(_('copy phone'), mode)}"),
            ("@email", f"Y  {shape(_('copy email'), mode)}"),
        ]

        def chosen(choice: str | None) -> None:
            if choice == "@open":
                self.action_open_folder()
            elif choice in ("@phone", "@email"):
                self.action_copy(choice[1:])
            elif choice:
                self.action_act(choice)

        self.app.push_screen(MenuDialog(f"{self.record.code} · {shape(stage_label(self.record.status), mode)}", entries), chosen)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_copy(self, what: str) -> None:
        if self.record is None:
            return
        c = self.record.contact
        value = c.get("email") if what == "email" else (c.get("mobile") or c.get("phone"))
        if value:
            self.app.copy_to_clipboard(str(value))
            self.notify(_("copied {value}").format(value=value))

    def action_open_folder(self) -> None:
        if self.record and self.record.folder:
            problem = system_open(self.record.folder, child_env(self.office.cfg))
            if problem:
                self.show_message(problem)

    @on(DataTable.RowSelected, "#files")
    def _open_file(self, event: DataTable.RowSelected) -> None:
        if self.record and self.record.folder:
            problem = system_open(self.record.folder / str(event.row_key.value), child_env(self.office.cfg))
            if problem:
                self.show_message(problem)


def _size(size: int) -> str:
    n = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
