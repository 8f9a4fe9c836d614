"""`archivist` command line: parsing and printing only; every command calls one domain function.

Commands live in small modules by area (records, index, daemon, backup, trace, tui); each exposes
`add_commands(subparsers)` and registers handlers `fn(ctx, args) -> int`. Exit codes: 0 ok,
1 a user error (one line saying what to do), 2 usage (argparse).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from ..deferred import until_done
from ..errors import ArchivistError
from ..i18n import N_, _
from ..terminal import json_safe, neutralize
from . import usage_words

if TYPE_CHECKING:  # config (dataclasses, yaml) loads when a command reads it: `--help` never does
    from ..config import Config

COMMAND_MODULES = ("records", "trace", "daemon", "backup", "tui", "index", "web")
# modules whose commands change no record (search, due, reindex, export): they need no workflow
# hook, so `due` does not import workflow and allocation (index.hook) only to register it
READ_ONLY_MODULES = {"index"}


class Context:
    """What every handler needs: the loaded config, who is acting, how to print. (A plain class:
    `--help` and a usage error import no dataclasses.)"""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._cfg: Config | None = None
        self._acting: Any = None

    @property
    def cfg(self) -> Config:
        if self._cfg is None:
            from ..config import load_config
            from ..store import use_group_access

            self._cfg = load_config(self.args.config, self.args.root)
            use_group_access(self._cfg.root)
        return self._cfg

    @property
    def by(self) -> str | None:
        """Who acts: the login's staff number when `accounts:` is configured (see identity.py)."""
        if self._acting is None:
            from ..identity import act_for, resolve

            self._acting = resolve(self.cfg, getattr(self.args, "by", None) or os.environ.get("ARCHIVIST_STAFF"))
            act_for(self._acting.on_behalf)
        return self._acting.by

    def json(self, value: Any) -> None:
        print(json_safe(json.dumps(value, ensure_ascii=False, indent=2, default=str)))

    def json_stream(self, items: Iterable[Any]) -> None:
        """A JSON list printed item by item, byte for byte what `json` prints for the whole list:
        `list --json` starts at once and never holds 100,000 rows."""
        _write_json_list(items, 0)
        sys.stdout.write("\n")

    def json_sections(self, sections: Mapping[str, Iterable[bytes]]) -> None:
        """A mapping of lists (`due --json`) printed as it is read, byte for byte what `json` prints;
        each list comes as UTF-8 chunks of its items' JSON texts, safe and nested a list deep in
        the mapping already (index.due.review_json)."""
        write = sys.stdout.write
        if not sections:
            write("{}\n")
            return
        for i, (key, chunks) in enumerate(sections.items()):
            write(("{\n  " if i == 0 else ",\n  ") + json.dumps(key, ensure_ascii=False) + ": ")
            _write_json_texts(chunks, 1)
        write("\n}\n")

    def out(self, text: str = "") -> None:
        print(neutralize(text))

    def err(self, text: str) -> None:
        print(neutralize(text), file=sys.stderr)


def _write_json_list(items: Iterable[Any], depth: int) -> None:
    """`items` as json.dumps(indent=2) writes a list nested `depth` levels deep, item by item."""
    write = sys.stdout.write
    pad = json_indent(depth)
    first = True
    for item in items:
        text = _flat_object(item, pad)
        if text is None:
            text = json.dumps(item, ensure_ascii=False, indent=2, default=str).replace("\n", "\n" + pad)
        write(("[\n" if first else ",\n") + pad + json_safe(text))
        first = False
    write("[]" if first else "\n" + "  " * depth + "]")


def json_indent(depth: int) -> str:
    """The indent json.dumps(indent=2) gives the items of a list nested `depth` levels deep."""
    return "  " * (depth + 1)


def _write_json_texts(chunks: Iterable[bytes], depth: int) -> None:
    """`_write_json_list` for items that are JSON texts already, made safe (terminal.json_safe)
    and indented for `depth`, handed over as UTF-8 chunks of items joined as a list joins them."""
    first = True
    for chunk in chunks:
        if chunk:  # the chunk as it came: 48 MB joined to its separator would be copied once more
            write_safe_bytes((("[\n" if first else ",\n") + json_indent(depth)).encode())
            write_safe_bytes(chunk)
            first = False
    write_safe_bytes(b"[]" if first else ("\n" + "  " * depth + "]").encode())


def _raw_stdout() -> BinaryIO | None:
    """stdout's bytes, when UTF-8 written there is what the text layer would write (a UTF-8
    stdout with \n line ends; else None), with what was written as text flushed first."""
    out = sys.stdout
    raw = getattr(out, "buffer", None)
    utf8 = (out.encoding or "").lower().replace("-", "").replace("_", "") == "utf8"
    if raw is None or not utf8 or os.linesep != "\n":  # else the text layer encodes (and turns \n into \r\n)
        return None
    out.flush()
    return raw  # type: ignore[no-any-return]


def write_safe_bytes(data: bytes) -> None:
    """UTF-8 text that is terminal-safe already (the index's review lines) to stdout as it is."""
    raw = _raw_stdout()
    if raw is None:
        sys.stdout.write(data.decode())
    else:
        raw.write(data)


_SCALAR = {True: "true", False: "false", None: "null"}


def _flat_object(item: Any, pad: str) -> str | None:
    """A dict of strings, whole numbers, booleans and nulls as json.dumps(indent=2) writes it at
    `pad`, through json's C string encoder (its indented encoder is pure Python: 126,000 `due`
    rows cost seconds more); None for anything else, which goes the general way."""
    if not isinstance(item, dict) or not item:
        return None
    enc = json.encoder.encode_basestring  # type: ignore[attr-defined]
    parts = []
    for key, value in item.items():
        if not isinstance(key, str):
            return None
        if isinstance(value, str):
            text = enc(value)
        elif value is None or isinstance(value, bool):
            text = _SCALAR[value]
        elif type(value) is int:
            text = int.__repr__(value)
        else:
            return None
        parts.append(f"{pad}  {enc(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n" + pad + "}"


def build_parser(modules: Sequence[str] = (), names_only: bool = False, only: str | None = None) -> argparse.ArgumentParser:
    """The parser with the commands of `modules` (default: all of them); with `names_only`, every
    command of the table by name and help only, nothing imported (`--help`, no command given);
    with `only`, of the modules' commands only that one is built (the command line names it)."""
    usage_words.install()  # argparse's own messages (usage errors, help headings) from our catalog
    p = argparse.ArgumentParser(
        prog="archivist",
        description=_("Filesystem-native archive for the F-31-08-01 follow-up logs and the F-31-08-02 master list."),
    )
    p.add_argument("--config", help=_("config.yaml to use (default: $ARCHIVIST_CONFIG, then ./config.yaml)"))
    p.add_argument("--root", help=_("archive root (overrides root: in config)"))
    p.add_argument("--by", help=_("staff number of who is acting (default: $ARCHIVIST_STAFF)"))
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    if names_only:
        for name, (_module, text) in TABLE.items():
            sub.add_parser(name, help=_(text))
        return p
    modules = modules or COMMAND_MODULES
    if set(modules) - READ_ONLY_MODULES:
        from ..index.hook import install

        install()  # CLI actions keep an existing index fresh (see archivist.index.hook)
    for name in modules:
        importlib.import_module(f"{__name__}.{name}").add_commands(_Only(sub, only) if only else sub)
    _by_after_command(sub)
    return p


class _Only:
    """The subparsers a command module registers into when the command line names one command:
    the module's other parsers are not built (each costs argparse about a millisecond, and the
    records module registers seventeen). Everything else goes to the real subparsers."""

    def __init__(self, sub: Any, name: str) -> None:
        self._sub, self._name = sub, name

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if name == self._name:
            return self._sub.add_parser(name, **kwargs)
        return _IGNORED

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._sub, attr)


class _Ignored:
    """A parser not built: every call (add_argument, set_defaults, add_subparsers…) does nothing."""

    def __getattr__(self, attr: str) -> Any:
        return self._nothing

    def _nothing(self, *args: Any, **kwargs: Any) -> _Ignored:
        return self


_IGNORED = _Ignored()


def _by_after_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`archivist log 00417 … --by 05` as well as `archivist --by 05 log …`: every command accepts
    --by; SUPPRESS keeps a --by given before the command when none is given after it."""
    for parser in set(sub.choices.values()):
        if not any("--by" in a.option_strings for a in parser._actions):
            parser.add_argument("--by", default=argparse.SUPPRESS, help=_("staff number of who is acting"))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _by_after_command(action)


# Every command: the module that registers it and its one-line help, so that `archivist show
# 00417` imports only what `show` needs and `archivist --help` (or a typo) imports no command module
# at all (the web app, backup, argon2, http are a third of a second at every start otherwise).
# tests/test_cli_startup.py keeps this table equal to what the modules register: a new command
# must be added here (until then argparse calls it an invalid choice). The helps are the modules'
# own msgids, translated where the parser is built (the catalog takes them from the modules).
TABLE: dict[str, tuple[str, str]] = {
    "init": ("records", N_("create the archive folders under the root")),
    "register": ("records", N_("register a new applicant; prints the 5-digit code")),
    "log": ("records", N_("log a call, note, request, quote, service or qc entry")),
    "followup": ("records", N_("set the next follow-up (+1d, +4h, Jalali or ISO date)")),
    "convert": ("records", N_("convert an applicant to a case; prints the 4-digit case code")),
    "decline": ("records", N_("the applicant declined")),
    "contract": ("records", N_("record the signed contract; prints its number")),
    "invoice": ("records", N_("add an invoice to a case; prints its number")),
    "service": ("records", N_("log service work (moves the case to in-service)")),
    "qc": ("records", N_("log a quality check")),
    "clear": ("records", N_("the service is cleared")),
    "crm": ("records", N_("the CRM step is done")),
    "archive": ("records", N_("archive (only after CRM)")),
    "reopen": ("records", N_("reopen an archived record")),
    "show": ("records", N_("a record: fields and timeline")),
    "list": ("records", N_("records, filtered by stage and staff")),
    "doctor": ("records", N_("check naming rules; --fix applies the safe fixes")),
    "trace": ("trace", N_("the case behind an invoice number, tax ID or contract number")),
    "history": ("trace", N_("a record's audit trail: who did what, when")),
    "notify": ("trace", N_("Telegram announcements waiting in the outbox")),
    "daemon": ("daemon", N_("watch the archive: live index, naming enforcement, inbox filing, schedules")),
    "stop": ("daemon", N_("stop this archive's daemon (and wait until it has stopped)")),
    "status": ("daemon", N_("is the daemon running, and what it knows (records, violations, unfiled, backup)")),
    "backup": ("backup", N_("snapshots of the archive on the external drive")),
    "tui": ("tui", N_("open the terminal UI (search, records, my day, register)")),
    "start": ("tui", N_("the main job: init the archive if needed, start the daemon, open the TUI")),
    "search": ("index", N_("find records by company, code, number, phone, name, note or file name")),
    "due": ("index", N_("the daily review: overdue follow-ups, due today, stuck records")),
    "reindex": ("index", N_("rebuild the index from the folders")),
    "export": ("index", N_("write the master list F-31-08-02 as XLSX or CSV")),
    "serve": ("web", N_("run the web app (loopback by default; TLS through a reverse proxy)")),
    "user": ("web", N_("web accounts: add, passwd, remove, list, token")),
}


def command_help(name: str) -> str:
    """The command's one-line help from TABLE, in the reader's language: the one place it is
    written (the modules register their commands with it)."""
    return _(TABLE[name][1])


COMMANDS: dict[str, tuple[str, ...]] = {
    module: tuple(name for name, (m, _help) in TABLE.items() if m == module) for module in COMMAND_MODULES
}
_GLOBAL_WITH_VALUE = ("--config", "--root", "--by")


def command_module(argv: Sequence[str]) -> str | None:
    """The module registering the command in `argv`, or None (help, a typo, a command not listed)."""
    name = command_name(argv)
    return TABLE[name][0] if name else None


def command_name(argv: Sequence[str]) -> str | None:
    """The command `argv` names when the table lists it, or None (help, a typo, no command)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _GLOBAL_WITH_VALUE:
            skip = True
        elif arg.startswith("-"):
            if arg.split("=", 1)[0] not in _GLOBAL_WITH_VALUE:
                return None  # -h, --help, or an option argparse will refuse: the full parser says it
        else:
            return arg if arg in TABLE else None
    return None


def json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help=_("print JSON shaped like the Python return value"))


_DASHES = "\x00--"


def _protect_dashes(argv: Sequence[str]) -> list[str]:
    """`--note=--` must store the text "--": argparse (3.11/3.12) drops a bare "--" from an option's
    value and stores [] instead, so the value is disguised before parsing and restored after."""
    return [a[:-2] + _DASHES if a.startswith("--") and a.endswith("=--") else a for a in argv]


def _restore_dashes(args: argparse.Namespace) -> None:
    for key, value in vars(args).items():
        if value == _DASHES:
            setattr(args, key, "--")
        elif isinstance(value, list) and _DASHES in value:
            setattr(args, key, ["--" if v == _DASHES else v for v in value])


def permission_message(e: PermissionError) -> str:
    """One line for a permission problem: what, for whom, and how to fix it."""
    import pwd

    try:
        who = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        who = str(os.geteuid())
    what = e.filename or _("a file of the archive")
    return _(
        "this account ({who}) may not access {what} ({strerror}); give the archive's group access to it: chgrp -R <group> <root> && chmod -R g+rwX <root> (see README, An office on one host)"
    ).format(who=who, what=what, strerror=e.strerror)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    usage_words.early_language(list(argv))  # a usage error is said in ui.language, before the config loads
    name = command_name(argv)
    # no command, --help or a typo: the table's names and helps are all argparse needs to answer
    parser = build_parser((TABLE[name][0],), only=name) if name else build_parser(names_only=True)
    args = parser.parse_args(_protect_dashes(argv))
    _restore_dashes(args)
    ctx = Context(args)
    from ..identity import scope

    # a command that answers and ends leaves its background catch-up until it has answered
    # (deferred.py); one that keeps running (the daemon, the TUI, the web app: `keeps_running`
    # where its parser is made) starts it at once
    done = contextlib.nullcontext() if getattr(args, "keeps_running", False) else until_done()
    try:
        with scope(), done:  # an admin's "acting for" ends with the command (tests call main() repeatedly)
            _check_text_args(args)  # before anything runs: a code must not be issued for a bad name
            return int(args.func(ctx, args) or 0)
    except ArchivistError as e:
        print(_("archivist: {e}").format(e=one_line(str(e))), file=sys.stderr)
        return 1
    except PermissionError as e:  # an account of the group meeting something another made owner-only
        print(_("archivist: {permission_message}").format(permission_message=permission_message(e)), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(_("archivist: interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:
        from ..boundary import ENVIRONMENT_ERRNOS, os_error_message  # only an error needs them

        if e.errno in ENVIRONMENT_ERRNOS:
            print(_("archivist: {os_error_message}").format(os_error_message=os_error_message(e)), file=sys.stderr)
            return 1
        return _unexpected(ctx, e)
    except Exception as e:  # noqa: BLE001 - the one top-level boundary: a bug, reported in one line
        return _unexpected(ctx, e)


def one_line(text: str) -> str:
    """A message on one terminal line, whatever a file name or a note inside it holds."""
    return neutralize(" ".join(text.splitlines()))


def write_lines(lines: Iterable[str], batch: int = 2000) -> None:
    """Lines (each ending in a newline) to stdout as they come, `batch` at a time, each batch
    `neutralize`d whole: 100,000 `list` rows cost one regex pass per batch, not one per row."""
    write = sys.stdout.write
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= batch:
            write(neutralize("".join(chunk)))
            chunk.clear()
    if chunk:
        write(neutralize("".join(chunk)))


def _check_text_args(args: argparse.Namespace) -> None:
    """Bytes that are not UTF-8 in an argument arrive as lone surrogates; refuse them up front."""
    for key, value in vars(args).items():
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str) and _SURROGATE.search(v):
                shown = v.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                raise ArchivistError(
                    _("--{replace} {shown!r} is not valid UTF-8 text; set the terminal to UTF-8 and type it again").format(
                        replace=key.replace("_", "-"), shown=shown
                    )
                )


_SURROGATE = re.compile("[\ud800-\udfff]")


def _unexpected(ctx: Context, e: BaseException) -> int:
    """A bug: one line saying where the full report went (the state folder, else the temp folder);
    the same rule as the daemon's threads and the TUI (`boundary.describe`)."""
    from ..boundary import describe

    cfg = None
    with contextlib.suppress(Exception):
        cfg = ctx._cfg
    line, _where = describe(cfg, e, " ".join(["archivist", *sys.argv[1:]]))
    print(_("archivist: {message}").format(message=neutralize(line)), file=sys.stderr)
    return 1
