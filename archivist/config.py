"""config.yaml → frozen dataclasses (SPEC §11). The only module that reads the config file.

Validation happens once, at load, and every error names the key and the file, because the person
editing config.yaml on the office machine is rarely the person who wrote it.
"""

from __future__ import annotations

import os
import re
import string
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from . import limits as _limits
from .config_path import find_config_path, parse_config_text
from .errors import ArchivistError, ConfigError
from .i18n import N_, _, check_language, how, set_language
from .limits import DEFAULT_MAX_LOG_BYTES
from .naming import FolderTemplate, ascii_digits, fold
from .stages import STAGES as STAGES  # re-exported: the stage table lives in stages.py


@dataclass(frozen=True)
class NamingConfig:
    applicant_folder: str = "{company} - {staff} - {lead}"
    case_folder: str = "{case}"
    policy: str = "report"  # report | fix
    # how Windows clients reach the root (\\host\share): `doctor` measures full paths with it
    windows_share: str = "\\\\server\\archive"

    @property
    def applicant(self) -> FolderTemplate:
        return FolderTemplate(self.applicant_folder)

    @property
    def case(self) -> FolderTemplate:
        return FolderTemplate(self.case_folder)


@dataclass(frozen=True)
class FollowupConfig:
    first_call_hours: int = 24
    # a call (or any contact) moves the next follow-up this many days ahead unless one is given
    interval_days: int = 3
    stuck_days: Mapping[str, int] = field(
        default_factory=lambda: {
            "new": 1,
            "following": 7,
            "declined": 14,
            "open": 14,
            "contracted": 30,
            "in-service": 90,
            "cleared": 14,
            "crm-done": 14,
        }
    )


@dataclass(frozen=True)
class NumbersConfig:
    # {year} is the year in the configured calendar, {seq} the serial within that year.
    contract: str = "{year}-{seq:04d}"
    invoice: str = "{year}{seq:05d}"


@dataclass(frozen=True)
class DaemonConfig:
    debounce_ms: int = 300
    reconcile_minutes: int = 30
    polling: str = "auto"  # auto | on | off
    settle_seconds: float = 1.0
    review_time: str = "07:00"


@dataclass(frozen=True)
class BackupConfig:
    target: Path | None = None
    schedule: str = "monthly"  # monthly | weekly | daily | off
    day: int = 1
    time: str = "02:00"
    keep: int = 24
    max_shrink: float = 0.2
    rsync_options: tuple[str, ...] = ()


@dataclass(frozen=True)
class TelegramConfig:
    chat_id: str | None = None
    token_env: str = "ARCHIVIST_TELEGRAM_TOKEN"
    api_base: str = "https://api.telegram.org"
    template: str = "{company} — {case}"
    # staff number → a private chat id for that person's morning digest and reminders (else the group)
    staff_chats: Mapping[str, str] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return bool(self.chat_id or self.staff_chats)

    def chat_for(self, staff: str | None) -> str | None:
        """Where a message for `staff` goes (their own chat, else the group); None: nowhere yet."""
        if staff and self.staff_chats.get(staff):
            return self.staff_chats[staff]
        return self.chat_id


@dataclass(frozen=True)
class DisplayConfig:
    bidi: str = "terminal"  # terminal | reshape
    header_languages: tuple[str, ...] = ("fa", "en")


@dataclass(frozen=True)
class UiConfig:
    language: str = "fa"  # fa | en: the message catalog (archivist/i18n.py); $ARCHIVIST_LANGUAGE overrides


@dataclass(frozen=True)
class WebConfig:
    """`archivist serve`: loopback by default (TLS comes from a reverse proxy, see README)."""

    host: str = "127.0.0.1"
    port: int = 8080
    max_upload_mb: int = 100
    session_minutes: int = 60  # idle time after which a login must be repeated
    start: bool = False  # `archivist start` also starts the web app


@dataclass(frozen=True)
class LimitsConfig:
    max_log_bytes: int = DEFAULT_MAX_LOG_BYTES  # a bigger "log" is refused unread (invalid-log)


@dataclass(frozen=True)
class Config:
    path: Path | None
    root: Path
    staff: Mapping[str, str]
    services: Mapping[str, str]  # digit prefix → service name
    naming: NamingConfig = NamingConfig()
    followup: FollowupConfig = FollowupConfig()
    numbers: NumbersConfig = NumbersConfig()
    calendar: str = "jalali"
    timezone: str = "Asia/Tehran"
    index_path: Path | None = None
    daemon: DaemonConfig = DaemonConfig()
    backup: BackupConfig = BackupConfig()
    telegram: TelegramConfig = TelegramConfig()
    display: DisplayConfig = DisplayConfig()
    ui: UiConfig = UiConfig()
    web: WebConfig = WebConfig()
    limits: LimitsConfig = LimitsConfig()
    # everything archivist writes besides the folders (index, daemon state, locks, outbox); it
    # must be on a local filesystem of the host that owns the archive (default <root>/.archivist)
    state_dir: Path | None = None
    allow_network_fs: bool = False  # the user knows the root or state dir is safe though it looks remote
    # staff number → the OS account that is that person on this host; admins may act for others
    accounts: Mapping[str, str] = field(default_factory=dict)
    admins: tuple[str, ...] = ()
    # where `root` came from, for messages ("root: in /etc/archivist/config.yaml", "--root", …);
    # "" when no one set it: the built-in default ./archive beside the config file (or here)
    root_source: str = ""

    @property
    def root_is_default(self) -> bool:
        """True when neither a config file, --root nor ARCHIVIST_ROOT chose the root: the only
        root `archivist start` may create an archive at without asking (issue 13, only init creates)."""
        return not self.root_source

    @property
    def root_where(self) -> str:
        """The root and who set it, as refusals say where they looked."""
        if self.root_source:
            return f"{self.root} ({self.root_source})"
        where = _("beside {path}").format(path=self.path) if self.path else _("in the working folder")
        return _("{root} (the built-in default root, ./archive {where})").format(root=self.root, where=where)

    @property
    def state_path(self) -> Path:
        return self.state_dir or self.root / ".archivist"

    @property
    def index_file(self) -> Path:
        return self.index_path or self.state_path / "index.sqlite"

    def service_prefix(self, service: str) -> str:
        """The digit prefix for a service given by name or by its prefix; error lists the choices."""
        s = ascii_digits(service.strip())
        if s in self.services:
            return s
        for prefix, name in self.services.items():
            if fold(name) == fold(service):
                return prefix
        choices = ", ".join(f"{p}={n}" for p, n in self.services.items())
        raise ConfigError(
            _("unknown service {service}; use one of: {choices} (services: in config.yaml)").format(
                service=repr(service), choices=choices
            ),
            field="service",
        )

    def staff_number(self, value: str, what: str = "--by") -> str:
        """A staff member as stored (`7`, `۰۷` → `07`); the error lists who is configured."""
        s = ascii_digits(str(value)).strip().zfill(2)
        if s not in self.staff:
            known = ", ".join(f"{k} ({v})" for k, v in self.staff.items())
            label = how(what, _("staff")) if what.startswith("--") else what
            raise ArchivistError(
                _("{field} {value}: unknown staff number; configured: {known} (staff: in config.yaml)").format(
                    field=label, value=value, known=known
                ),
                field="staff",
            )
        return s

    def with_root(self, root: Path) -> Config:
        return replace(self, root=root.resolve(), root_source=self.root_source or _("given by the caller"))


DEFAULT_STAFF = {
    "01": "Staff 01",
    "02": "Staff 02",
    "03": "Staff 03",
}  # untranslated: built-in default data (staff and service names of a new config), not a message
DEFAULT_SERVICES = {
    "1": "ISO certification",
    "2": "Product certification",
    "3": "Training",
    "4": "Consulting",
}  # untranslated: built-in default data (staff and service names of a new config), not a message

_TOP_KEYS = {
    "root",
    "staff",
    "services",
    "naming",
    "followup",
    "numbers",
    "calendar",
    "timezone",
    "index",
    "daemon",
    "backup",
    "telegram",
    "display",
    "ui",
    "web",
    "limits",
    "state_dir",
    "allow_network_fs",
    "accounts",
    "admins",
}


def load_config(path: str | os.PathLike[str] | None = None, root: str | os.PathLike[str] | None = None) -> Config:
    cfg_path = find_config_path(path)
    raw: dict[str, Any] = {}
    if cfg_path is not None:
        try:
            text = Path(cfg_path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(
                _("config file {cfg_path} does not exist (pass --config PATH or create it)").format(cfg_path=cfg_path)
            ) from None
        except UnicodeDecodeError as e:
            raise ConfigError(
                _("{cfg_path}: not UTF-8 text (byte {start}); save it as UTF-8").format(cfg_path=cfg_path, start=e.start)
            ) from None
        except IsADirectoryError:
            raise ConfigError(
                _("config file {cfg_path} is a folder; pass the config.yaml file itself").format(cfg_path=cfg_path)
            ) from None
        except OSError as e:
            raise ConfigError(
                _("config file {cfg_path} cannot be read: {error}").format(cfg_path=cfg_path, error=e.strerror or e)
            ) from None
        try:
            loaded = parse_config_text(text)
        except (ValueError, TypeError, RecursionError) as e:  # an impossible date, a deep nest
            raise ConfigError(_("{cfg_path}: not valid YAML ({e})").format(cfg_path=cfg_path, e=e)) from None
        except Exception as e:
            yaml = sys.modules.get("yaml")  # imported by the parse that failed (not for a text read before)
            if yaml is None or not isinstance(e, yaml.YAMLError):
                raise
            mark = getattr(e, "problem_mark", None)
            line = f":{mark.line + 1}" if mark else ""
            raise ConfigError(
                _("{cfg_path}{line}: not valid YAML ({getattr})").format(
                    cfg_path=cfg_path, line=line, getattr=getattr(e, "problem", e)
                )
            ) from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(_("{cfg_path}: must be a mapping of keys (root:, staff:, …)").format(cfg_path=cfg_path))
        raw = loaded
    cfg = _build(raw, cfg_path, root)
    set_language(cfg.ui.language)  # the process speaks the config's language from here on
    _limits.set_max_log_bytes(cfg.limits.max_log_bytes)
    return cfg


@dataclass(frozen=True)
class _Source:
    """The parsed config.yaml being validated: where it came from (for messages) and what it holds."""

    raw: dict[str, Any]
    where: str
    base: Path  # relative paths in the file are relative to the file's folder

    def err(self, key: str, why: str) -> ConfigError:
        return ConfigError(_("{where}: key '{key}': {why}").format(where=self.where, key=key, why=why))


def _build(raw: dict[str, Any], cfg_path: Path | None, root_override: Any) -> Config:
    """Validate every section, one function each (a new key goes into its section's validator).

    Sections are validated in the order they appear in Config, so the first problem reported is
    always the same one.
    """
    src = _Source(
        raw, str(cfg_path) if cfg_path else _("built-in defaults"), cfg_path.parent.resolve() if cfg_path else Path.cwd()
    )
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise src.err(sorted(unknown)[0], _("unknown key (known keys: {items})").format(items=", ".join(sorted(_TOP_KEYS))))
    root, root_source = _root(src, root_override)
    staff = _staff(src)
    return Config(
        path=cfg_path.resolve() if cfg_path else None,
        root=root,
        staff=staff,
        services=_services(src),
        naming=_naming(src),
        followup=_followup(src),
        numbers=_numbers(src),
        calendar=_calendar(src),
        timezone=_timezone(src),
        index_path=_index_path(src, root),
        daemon=_daemon(src),
        backup=_backup(src),
        telegram=_telegram(src),
        display=_display(src),
        ui=_ui(src),
        web=_web(src),
        limits=_limits_section(src),
        state_dir=_state_dir(src),
        allow_network_fs=_allow_network_fs(src),
        **_identity(src, staff),
        root_source=root_source,
    )


def _root(src: _Source, root_override: Any) -> tuple[Path, str]:
    if root_override:
        source = "--root"
    elif os.environ.get("ARCHIVIST_ROOT"):
        source = _("ARCHIVIST_ROOT in the environment")
    elif "root" in src.raw:
        source = _("root: in {where}").format(where=src.where)
    else:
        source = ""
    root_raw = root_override or os.environ.get("ARCHIVIST_ROOT") or src.raw.get("root", "./archive")
    if not isinstance(root_raw, (str, os.PathLike)):
        raise src.err("root", _("must be a path"))
    _check_path(src, "root", str(root_raw))
    root = (src.base / Path(root_raw).expanduser()).resolve() if not root_override else Path(root_raw).resolve()
    if root == Path(root.anchor):
        raise src.err("root", _("{root} is the root of the filesystem; give the archive a folder of its own").format(root=root))
    return root, source


def _check_path(src: _Source, key: str, value: str) -> None:
    """Paths are taken literally: `$HOME/archive` would otherwise become a folder named `$HOME`."""
    if "$" in value or re.search(r"%[A-Za-z_]+%", value):
        raise src.err(
            key,
            _(
                "{value!r}: environment variables are not expanded here; write the full path (~ for the home folder is fine)"
            ).format(value=value),
        )
    if "\0" in value:
        raise src.err(key, _("a path cannot contain a NUL character"))


_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def _check_time(src: _Source, key: str, value: Any) -> str:
    """A time of day as HH:MM, 24-hour (`07:00`, `19:30`): "7am" would kill the scheduler at its
    first tick, long after the config was accepted."""
    text = ascii_digits(str(value)).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if len(text) == 4 and text[1] == ":":
        text = "0" + text
    if not _TIME.fullmatch(text):
        raise src.err(key, _("must be a time of day as HH:MM, 24-hour (e.g. 07:00 or 19:30), got {value!r}").format(value=value))
    return text


def _check_range(src: _Source, key: str, value: float, low: float, high: float | None = None) -> None:
    if value < low or (high is not None and value > high):
        bound = (
            _("between {low} and {high}").format(low=low, high=high) if high is not None else _("at least {low}").format(low=low)
        )
        raise src.err(key, _("must be {bound}, got {value}").format(bound=bound, value=value))


def _staff(src: _Source) -> dict[str, str]:
    staff = _mapping(src.raw.get("staff", DEFAULT_STAFF), "staff", src.err)
    for k in staff:
        if not re.fullmatch(r"\d{2}", k) or k == "00":
            raise src.err(f"staff.{k}", _("staff numbers are two digits 01..99"))
    return staff


def _services(src: _Source) -> dict[str, str]:
    services = _mapping(src.raw.get("services", DEFAULT_SERVICES), "services", src.err)
    for k in services:
        if not re.fullmatch(r"[1-9]\d{0,2}", k):
            raise src.err(f"services.{k}", _("a service prefix is 1-3 digits not starting with 0"))
    prefixes = sorted(services)
    for a in prefixes:
        for b in prefixes:
            if a != b and b.startswith(a):
                raise src.err(f"services.{b}", _("prefix overlaps with {a}; case codes would be ambiguous").format(a=a))
    return services


def _naming(src: _Source) -> NamingConfig:
    naming: NamingConfig = _section(src.raw, "naming", NamingConfig, src.err)
    if naming.policy not in ("report", "fix"):
        raise src.err("naming.policy", _("must be report or fix"))
    for key, tmpl, need in (
        ("naming.applicant_folder", naming.applicant_folder, "lead"),
        ("naming.case_folder", naming.case_folder, "case"),
    ):
        try:
            fields = FolderTemplate(tmpl).fields()
            FolderTemplate(tmpl).regex()
        except ValueError as e:
            raise src.err(key, str(e)) from None
        if need not in fields:
            raise src.err(key, _("must contain {{{need}}}").format(need=need))
        # a folder name, never a path: "../../{case}" or "/srv/{case}" would move records out of the root
        literal = "".join(lit for lit, _f, _spec, _conv in string.Formatter().parse(tmpl))
        if "/" in literal or "\\" in literal or tmpl.strip().startswith(".") or tmpl != tmpl.strip():
            raise src.err(key, _("{tmpl!r} must be a single folder name (no /, \\, leading dot or space)").format(tmpl=tmpl))
    return naming


def _followup(src: _Source) -> FollowupConfig:
    followup: FollowupConfig = _section(src.raw, "followup", FollowupConfig, src.err)
    if not isinstance(followup.stuck_days, Mapping):
        raise src.err(
            "followup.stuck_days",
            _("must be a mapping of stage: days (e.g. following: 7), got {stuck_days!r}").format(stuck_days=followup.stuck_days),
        )
    stuck = dict(FollowupConfig().stuck_days)
    for k, v in dict(followup.stuck_days).items():
        if k not in STAGES:
            raise src.err(f"followup.stuck_days.{k}", _("unknown stage (stages: {items})").format(items=", ".join(STAGES)))
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise src.err(f"followup.stuck_days.{k}", _("must be a whole number of days, got {v!r}").format(v=v))
        stuck[k] = v
    if (
        not isinstance(followup.first_call_hours, int)
        or isinstance(followup.first_call_hours, bool)
        or followup.first_call_hours < 0
    ):
        raise src.err(
            "followup.first_call_hours",
            _("must be a whole number of hours ≥ 0, got {first_call_hours!r}").format(first_call_hours=followup.first_call_hours),
        )
    if not isinstance(followup.interval_days, int) or isinstance(followup.interval_days, bool) or followup.interval_days < 1:
        raise src.err(
            "followup.interval_days",
            _("must be a whole number of days ≥ 1, got {interval_days!r}").format(interval_days=followup.interval_days),
        )
    return FollowupConfig(first_call_hours=followup.first_call_hours, interval_days=followup.interval_days, stuck_days=stuck)


def _numbers(src: _Source) -> NumbersConfig:
    numbers: NumbersConfig = _section(src.raw, "numbers", NumbersConfig, src.err)
    for key in ("contract", "invoice"):
        fmt = getattr(numbers, key)
        try:
            fmt.format(year=1405, seq=1)
        except (KeyError, ValueError, IndexError) as e:
            raise src.err(f"numbers.{key}", _("bad format ({e}); use {{year}} and {{seq}}").format(e=e)) from None
        # numbers are read back (to check them against the logs), so only these placeholders
        if "{seq" not in fmt or re.search(r"[{}]", re.sub(r"\{(year|seq)(:0?\d+d)?\}", "", fmt)):
            raise src.err(
                f"numbers.{key}", _("must contain {{seq}} (or {{seq:04d}}) and may contain {{year}}, got {fmt!r}").format(fmt=fmt)
            )
    return numbers


def _calendar(src: _Source) -> str:
    calendar = src.raw.get("calendar", "jalali")
    if calendar not in ("jalali", "gregorian"):
        raise src.err("calendar", _("must be jalali or gregorian"))
    return str(calendar)


def _timezone(src: _Source) -> str:
    tz = src.raw.get("timezone", "Asia/Tehran")
    try:
        ZoneInfo(str(tz))
    except Exception:
        raise src.err("timezone", _("unknown time zone {tz!r} (e.g. Asia/Tehran)").format(tz=tz)) from None
    return str(tz)


def _state_dir(src: _Source) -> Path | None:
    value = src.raw.get("state_dir")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise src.err("state_dir", _("must be a path (text) on a local filesystem, got {value!r}").format(value=value))
    return (src.base / Path(value).expanduser()).resolve()


def _allow_network_fs(src: _Source) -> bool:
    value = src.raw.get("allow_network_fs", False)
    if not isinstance(value, bool):
        raise src.err("allow_network_fs", _("must be true or false, got {value!r}").format(value=value))
    return value


def _identity(src: _Source, staff: Mapping[str, str]) -> dict[str, Any]:
    """`accounts: {"03": sara}` (staff number → OS account) and `admins: ["01"]` (staff numbers)."""
    accounts_raw = src.raw.get("accounts") or {}
    if not isinstance(accounts_raw, dict):
        raise src.err("accounts", _('must map staff numbers to OS accounts, e.g. {"03": sara}'))
    accounts: dict[str, str] = {}
    for k, v in accounts_raw.items():
        number = f"{k:02d}" if isinstance(k, int) and not isinstance(k, bool) else ascii_digits(str(k)).strip().zfill(2)
        if number not in staff:
            raise src.err(f"accounts.{k}", _("{k} is not a staff number under staff:").format(k=k))
        if not isinstance(v, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\$?", v):
            raise src.err(f"accounts.{k}", _("must be an OS account name, got {v!r}").format(v=v))
        if v in accounts.values():
            raise src.err(f"accounts.{k}", _("account {v} is already mapped to another staff number").format(v=v))
        accounts[number] = v
    admins_raw = src.raw.get("admins") or []
    if isinstance(admins_raw, (str, int)):
        admins_raw = [admins_raw]
    if not isinstance(admins_raw, list):
        raise src.err("admins", _('must be a list of staff numbers, e.g. ["01"]'))
    admins = []
    for a in admins_raw:
        number = f"{a:02d}" if isinstance(a, int) and not isinstance(a, bool) else ascii_digits(str(a)).strip().zfill(2)
        if number not in staff:
            raise src.err("admins", _("{a} is not a staff number under staff:").format(a=a))
        admins.append(number)
    return {"accounts": accounts, "admins": tuple(admins)}


def _index_path(src: _Source, root: Path) -> Path | None:
    index_raw = src.raw.get("index") or {}
    if not isinstance(index_raw, dict) or set(index_raw) - {"path"}:
        raise src.err("index", _("only index.path is allowed"))
    if index_raw.get("path") is not None and not isinstance(index_raw["path"], str):
        raise src.err("index.path", _("must be a path (text), got {path!r}").format(path=index_raw["path"]))
    if index_raw.get("path"):
        _check_path(src, "index.path", index_raw["path"])
    return (root / index_raw["path"]).resolve() if index_raw.get("path") else None


def _daemon(src: _Source) -> DaemonConfig:
    daemon: DaemonConfig = _section(src.raw, "daemon", DaemonConfig, src.err)
    if daemon.polling not in ("auto", "on", "off"):
        raise src.err("daemon.polling", _("must be auto, on or off"))
    _check_range(src, "daemon.debounce_ms", daemon.debounce_ms, 0, 600_000)
    _check_range(src, "daemon.reconcile_minutes", daemon.reconcile_minutes, 1)
    _check_range(src, "daemon.settle_seconds", daemon.settle_seconds, 0, 3600)
    return replace(daemon, review_time=_check_time(src, "daemon.review_time", daemon.review_time))


def _backup(src: _Source) -> BackupConfig:
    backup_raw = _raw_section(src.raw, "backup", src.err)
    if backup_raw.get("target") is not None and not isinstance(backup_raw["target"], str):
        raise src.err("backup.target", _("must be a path (text), got {target!r}").format(target=backup_raw["target"]))
    if backup_raw.get("target"):
        _check_path(src, "backup.target", backup_raw["target"])
        backup_raw["target"] = (src.base / Path(str(backup_raw["target"])).expanduser()).resolve()
    if "rsync_options" in backup_raw:
        opts = backup_raw["rsync_options"] or []
        if not isinstance(opts, list) or not all(isinstance(o, str) for o in opts):
            raise src.err("backup.rsync_options", _("must be a list of strings"))
        backup_raw["rsync_options"] = tuple(opts)
    backup: BackupConfig = _section({"backup": backup_raw}, "backup", BackupConfig, src.err)
    if backup.schedule not in ("monthly", "weekly", "daily", "off"):
        raise src.err("backup.schedule", _("must be monthly, weekly, daily or off"))
    if not isinstance(backup.keep, int) or backup.keep < 1:
        raise src.err("backup.keep", _("must be a whole number ≥ 1"))
    _check_range(src, "backup.day", backup.day, 1, 7 if backup.schedule == "weekly" else 31)
    _check_range(src, "backup.max_shrink", backup.max_shrink, 0, 1)
    return replace(backup, time=_check_time(src, "backup.time", backup.time))


def _telegram(src: _Source) -> TelegramConfig:
    telegram_raw = _raw_section(src.raw, "telegram", src.err)
    if "token" in telegram_raw:
        raise src.err("telegram.token", _("never put the token in config; set token_env and export that variable"))
    if telegram_raw.get("chat_id") is not None:
        telegram_raw["chat_id"] = str(telegram_raw["chat_id"])
    if "staff_chats" in telegram_raw:
        chats = telegram_raw["staff_chats"] or {}
        if not isinstance(chats, dict):
            raise src.err(
                "telegram.staff_chats",
                _('must map staff numbers to chat ids (e.g. "07": 123456789), got {chats!r}').format(chats=chats),
            )
        out = {}
        for k, v in chats.items():
            key = f"{k:02d}" if isinstance(k, int) else str(k)
            if not re.fullmatch(r"\d{2}", key) or v is None or isinstance(v, bool) or str(v).strip() == "":
                raise src.err(f"telegram.staff_chats.{k}", _("a two-digit staff number mapped to a chat id"))
            out[key] = str(v).strip()
        telegram_raw["staff_chats"] = out
    telegram: TelegramConfig = _section({"telegram": telegram_raw}, "telegram", TelegramConfig, src.err)
    _check_template(telegram.template, src.err)
    return telegram


def _display(src: _Source) -> DisplayConfig:
    display_raw = _raw_section(src.raw, "display", src.err)
    if "header_languages" in display_raw:
        langs = display_raw["header_languages"] or []
        if isinstance(langs, str):
            langs = [langs]
        if not isinstance(langs, list) or not all(isinstance(x, str) for x in langs):
            raise src.err(
                "display.header_languages", _("must be a list of languages like [fa, en], got {langs!r}").format(langs=langs)
            )
        display_raw["header_languages"] = tuple(langs)
    display: DisplayConfig = _section({"display": display_raw}, "display", DisplayConfig, src.err)
    if display.bidi not in ("terminal", "reshape"):
        raise src.err("display.bidi", _("must be terminal or reshape"))
    return display


def _ui(src: _Source) -> UiConfig:
    ui: UiConfig = _section(src.raw, "ui", UiConfig, src.err)
    try:
        return UiConfig(language=check_language(ui.language))
    except ValueError as e:
        raise src.err("ui.language", str(e)) from None


def _web(src: _Source) -> WebConfig:
    web: WebConfig = _section(src.raw, "web", WebConfig, src.err)
    if not 0 < web.port < 65536:
        raise src.err("web.port", _("must be a port number 1..65535, got {port}").format(port=web.port))
    if web.max_upload_mb < 1 or web.session_minutes < 1:
        raise src.err("web.max_upload_mb" if web.max_upload_mb < 1 else "web.session_minutes", _("must be at least 1"))
    return web


def _limits_section(src: _Source) -> LimitsConfig:
    lim: LimitsConfig = _section(src.raw, "limits", LimitsConfig, src.err)
    if lim.max_log_bytes < 64 * 1024:
        raise src.err(
            "limits.max_log_bytes",
            _("must be at least 65536 (64 KB), got {max_log_bytes}").format(max_log_bytes=lim.max_log_bytes),
        )
    return lim


def _mapping(value: Any, key: str, err: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise err(key, _("must be a non-empty mapping"))
    out = {}
    for k, v in value.items():
        if isinstance(k, int):
            k = f"{k:02d}" if key == "staff" else str(k)
        out[str(k)] = str(v)
    return out


TELEGRAM_PLACEHOLDERS = ("company", "case", "lead")


def _check_template(template: str, err: Any) -> None:
    """The announcement template may use only {company}, {case} and {lead}: checked here, at load,
    because a bad one would otherwise fail at the first conversion."""
    allowed = ", ".join(f"{{{p}}}" for p in TELEGRAM_PLACEHOLDERS)
    try:
        fields = [f for _lit, f, _spec, _conv in string.Formatter().parse(template) if f is not None]
    except ValueError as e:
        raise err(
            "telegram.template",
            _("bad template ({e}); write {{{{ and }}}} for literal braces; allowed placeholders: {allowed}").format(
                e=e, allowed=allowed
            ),
        ) from None
    for f in fields:
        if f not in TELEGRAM_PLACEHOLDERS:
            raise err(
                "telegram.template",
                _("unknown placeholder {{{f}}}; allowed placeholders: {allowed}").format(f=f, allowed=allowed),
            )
    try:
        template.format(company="x", case="1001", lead="00001")
    except (ValueError, KeyError, IndexError) as e:
        raise err(
            "telegram.template", _("bad template ({e}); allowed placeholders: {allowed}").format(e=e, allowed=allowed)
        ) from None


def _raw_section(raw: dict[str, Any], key: str, err: Any) -> dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise err(key, _("must be a mapping (indented key: value lines), got {value!r}").format(value=value))
    return dict(value)


_TYPE_WORDS = {int: N_("an integer"), float: N_("a number"), str: N_("text"), bool: N_("true or false")}


def _section(raw: dict[str, Any], key: str, cls: Any, err: Any) -> Any:
    value = _raw_section(raw, key, err)
    known = {f.name for f in fields(cls)}
    for k in value:
        if k not in known:
            raise err(f"{key}.{k}", _("unknown key (known: {items})").format(items=", ".join(sorted(known))))
    defaults = cls()
    for k, v in value.items():
        want = type(getattr(defaults, k))
        if (
            v is None
            or want in (type(None),)
            or isinstance(getattr(defaults, k), (dict, tuple, Path))
            or getattr(defaults, k) is None
        ):
            continue
        if want is float and isinstance(v, int) and not isinstance(v, bool):
            continue
        if not isinstance(v, want) or (want is not bool and isinstance(v, bool)):
            raise err(f"{key}.{k}", _("must be {kind}, got {v!r}").format(kind=_(_TYPE_WORDS.get(want, want.__name__)), v=v))
    return cls(**value)


def archivist_command(cfg: Config, verb: str) -> list[str]:
    """The command line that runs `archivist <verb>` for this config and root (a daemon, the web app)."""
    cmd = [sys.executable, "-m", "archivist"]
    if cfg.path:
        cmd += ["--config", str(cfg.path)]
    return [*cmd, "--root", str(cfg.root), verb]
