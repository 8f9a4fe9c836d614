"""argparse's own words (usage errors, help headings) from archivist's catalog.

argparse translates its messages with `gettext.gettext`/`gettext.ngettext` under the default
domain, which no installed catalog answers, so `archivist lgo` or a missing code printed English
in a Persian office. `install()` points argparse's module-level `_` and `ngettext` at archivist's
catalog (current language at the moment argparse formats the message). The msgids below are
argparse's own (Python 3.11–3.13), listed so that `pybabel extract` keeps them in the catalog.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Any

from ..config_path import find_config_path, parse_config_text
from ..i18n import LANGUAGES, N_, current_language, ngettext, set_language, translations

ARGPARSE_MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("unrecognized arguments: %s"),
    N_("the following arguments are required: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid choice: %(value)s (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("expected one argument"),
    N_("expected at least one argument"),
    N_("expected at most one argument"),
    N_("ignored explicit argument %r"),
    N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("can't open '%(filename)s': %(error)s"),
    N_("unexpected option string: %s"),
)


def _plural_msgids() -> tuple[str, ...]:  # pragma: no cover - never called: marks the plural msgids for extraction
    return (
        ngettext("expected %s argument", "expected %s arguments", 1),
        ngettext("conflicting option string: %s", "conflicting option strings: %s", 1),
    )


def _gettext(message: str) -> str:
    return translations(current_language()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language()).ngettext(singular, plural, n)


def install() -> None:
    """argparse speaks the current language from now on (idempotent)."""
    argparse._ = _gettext  # type: ignore[attr-defined]
    argparse.ngettext = _ngettext  # type: ignore[attr-defined]


def early_language(argv: list[str] | tuple[str, ...]) -> None:
    """The language for parsing, before the command loads its config: `ui.language` of the config
    the command will use (--config, $ARCHIVIST_CONFIG, ./config.yaml); `$ARCHIVIST_LANGUAGE`
    still wins. A missing or broken config is left for the command to report."""
    explicit = None
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            explicit = argv[i + 1]
        elif arg.startswith("--config="):
            explicit = arg.split("=", 1)[1]
    with contextlib.suppress(Exception):  # the command itself says what is wrong with the config
        path = find_config_path(explicit)
        raw = _read_yaml(path) if path is not None else {}
        lang = str(((raw or {}).get("ui") or {}).get("language") or "").strip().lower()
        set_language(lang if lang in LANGUAGES else None)  # as load_config will: unset means fa


def _read_yaml(path: Path) -> Any:
    return parse_config_text(path.read_text(encoding="utf-8"))
