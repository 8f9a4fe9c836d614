"""One message catalog for every screen: gettext, Persian and English (SPEC §12 "Language").

Source strings are English; `archivist/locale/<lang>/LC_MESSAGES/archivist.po` holds the
translations and the compiled `.mo` beside it is what runs (both are committed, so a fresh
checkout or `pip install -e .` needs no build step). The language is `ui.language` in config.yaml
(default `fa`); `$ARCHIVIST_LANGUAGE` overrides it for one account or one shell.

- `_(message)` translates into the current language; `pgettext(context, text)` when one English
  word means two things (the stage "open" and the verb); `N_(message)` only marks a string for
  extraction, to be passed through `_()` where it is shown.
- `stage_label`, `kind_label`, `action_label` name the domain's words in the current language.
- `translations(lang)` is a gettext translations object for any language, e.g. for the web app:
  `env.install_gettext_translations(i18n.translations("fa"), newstyle=True)`.
- `language(lang)` is a context manager for code that serves several languages at once (a web
  request); it is a ContextVar, so threads and asyncio tasks each see their own.

Updating the catalog (Babel; see README "Translations"):
    pybabel extract -F babel.cfg -k pgettext:1c,2 -k N_ -o archivist/locale/archivist.pot .
    pybabel update -i archivist/locale/archivist.pot -d archivist/locale -D archivist
    (translate the new entries in archivist/locale/fa/LC_MESSAGES/archivist.po)
    pybabel compile -d archivist/locale -D archivist
tests/test_i18n.py fails when a marked string has no Persian translation or a .mo is stale.
"""

from __future__ import annotations

import contextlib
import gettext
import os
from collections.abc import Iterator
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

DOMAIN = "archivist"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("fa", "en")
DEFAULT_LANGUAGE = "fa"
ENV_VAR = "ARCHIVIST_LANGUAGE"

_process_language: str | None = None
_request_language: ContextVar[str | None] = ContextVar("archivist_language", default=None)


def check_language(lang: str) -> str:
    """`lang` if the catalog has it; ValueError naming the choices otherwise."""
    value = str(lang).strip().lower()
    if value not in LANGUAGES:
        raise ValueError(_("unknown language {lang!r}; use one of: {items}").format(lang=lang, items=", ".join(LANGUAGES)))
    return value


def set_language(lang: str | None) -> None:
    """The process's language (from `ui.language`); `$ARCHIVIST_LANGUAGE` still wins when set."""
    global _process_language
    _process_language = check_language(lang) if lang else None


def current_language() -> str:
    """The language `_()` translates into now: `language()` block, then env, then config, then fa."""
    explicit = _request_language.get()
    if explicit:
        return explicit
    env = os.environ.get(ENV_VAR, "").strip().lower()
    if env in LANGUAGES:
        return env
    return _process_language or DEFAULT_LANGUAGE


@contextlib.contextmanager
def language(lang: str) -> Iterator[None]:
    """Translate into `lang` inside the block (this thread / task only)."""
    token = _request_language.set(check_language(lang))
    try:
        yield
    finally:
        _request_language.reset(token)


@lru_cache(maxsize=8)
def translations(lang: str) -> gettext.NullTranslations:
    """The gettext translations for `lang` (NullTranslations = English source strings if missing).

    The catalog's file is opened directly: what `gettext.translation(..., fallback=True)` finds for
    a language of LANGUAGES, without its search through `locale` (2 ms at every command's start)."""
    mo = LOCALE_DIR / check_language(lang) / "LC_MESSAGES" / f"{DOMAIN}.mo"
    try:
        with open(mo, "rb") as fp:
            return gettext.GNUTranslations(fp)
    except FileNotFoundError:
        return gettext.NullTranslations()


def _(message: str) -> str:
    return translations(current_language()).gettext(message)


gettext_ = _


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return translations(current_language()).pgettext(context, message)


def N_(message: str) -> str:
    """Mark for extraction only; translate with `_()` where it is shown."""
    return message


def is_rtl() -> bool:
    return current_language() == "fa"


# -- the domain's words ------------------------------------------------------------------------------
# Written as literal calls so that `pybabel extract` finds every one of them.


def _stage_labels() -> dict[str, str]:
    return {
        "new": pgettext("stage", "new"),
        "following": pgettext("stage", "following"),
        "converted": pgettext("stage", "converted"),
        "declined": pgettext("stage", "declined"),
        "open": pgettext("stage", "open"),
        "contracted": pgettext("stage", "contracted"),
        "in-service": pgettext("stage", "in-service"),
        "cleared": pgettext("stage", "cleared"),
        "crm-done": pgettext("stage", "crm-done"),
        "archived": pgettext("stage", "archived"),
    }


def _kind_labels() -> dict[str, str]:
    return {
        "registered": pgettext("event", "registered"),
        "call": pgettext("event", "call"),
        "note": pgettext("event", "note"),
        "request": pgettext("event", "request"),
        "quote": pgettext("event", "quote"),
        "followup": pgettext("event", "follow-up"),
        "converted": pgettext("event", "converted"),
        "declined": pgettext("event", "declined"),
        "contract": pgettext("event", "contract"),
        "invoice": pgettext("event", "invoice"),
        "service": pgettext("event", "service"),
        "qc": pgettext("event", "QC"),
        "cleared": pgettext("event", "cleared"),
        "crm": pgettext("event", "CRM"),
        "archived": pgettext("event", "archived"),
        "reopened": pgettext("event", "reopened"),
        "renamed": pgettext("event", "renamed"),
        "filed": pgettext("event", "filed"),
        "edited": pgettext("event", "edited"),
        "restored": pgettext("event", "restored"),
    }


def _action_labels() -> dict[str, str]:
    return {
        "log": pgettext("action", "log"),
        "followup": pgettext("action", "follow-up"),
        "convert": pgettext("action", "convert"),
        "decline": pgettext("action", "decline"),
        "contract": pgettext("action", "contract"),
        "invoice": pgettext("action", "invoice"),
        "service": pgettext("action", "service"),
        "qc": pgettext("action", "QC"),
        "clear": pgettext("action", "clear"),
        "crm": pgettext("action", "CRM"),
        "archive": pgettext("action", "archive"),
        "reopen": pgettext("action", "reopen"),
    }


def _contact_labels() -> dict[str, str]:
    return {
        "person": _("person"),
        "consultant": _("consultant"),
        "mobile": _("mobile"),
        "phone": _("phone"),
        "messenger": _("messenger"),
        "email": _("email"),
    }


def contact_label(key: str) -> str:
    """A contact field's name (`person` → «رابط»)."""
    return _contact_labels().get(key, key)


def stage_label(stage: str | None) -> str:
    """A stage as staff read it (`following` → «در پیگیری»); unknown stages as stored."""
    if not stage:
        return ""
    return _stage_labels().get(stage, stage)


def kind_label(kind: str | None) -> str:
    """An event kind as staff read it (`call` → «تماس»); unknown kinds as stored."""
    if not kind:
        return ""
    return _kind_labels().get(kind, kind)


def action_label(action: str) -> str:
    """A workflow action (a TRANSITIONS key) as a menu or button reads it."""
    return _action_labels().get(action, action)


# -- where a message is read -----------------------------------------------------------------------
# The CLI tells people which command or flag to use; a screen (TUI, web) names the action or the
# field instead, because there is no command line to type into.
_process_surface = "cli"


def set_surface(surface: str) -> None:
    """`cli` (default) or `screen` (the TUI and the web app call this once at start)."""
    global _process_surface
    if surface not in ("cli", "screen"):
        raise ValueError(
            f"unknown surface {surface!r}"
        )  # untranslated: a programming error (set_surface is called with a constant)
    _process_surface = surface


def on_screen() -> bool:
    return _process_surface == "screen"


def how(cli: str, screen: str) -> str:
    """`cli` (a command or flag, as typed) on the command line, `screen` (a label) elsewhere."""
    return screen if on_screen() else cli


def field(flag: str, label: str) -> str:
    """A field named in an error: `--mobile` on the command line, «موبایل» on a screen."""
    return how(flag, label)
