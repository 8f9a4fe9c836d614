"""The TUI's words in the reader's language (archivist/i18n.py's catalog).

Textual reads key labels from class-level BINDINGS, written once at import in English (marked
with `N_` for extraction); each screen, dialog and the app translate their own copy when they
are created, so the footer speaks `ui.language` like everything else.
"""

from __future__ import annotations

import re
from dataclasses import replace

from textual.dom import DOMNode

from ..i18n import N_, _, action_label

# Textual's own keys that show in the footer or the palette (marked here so the catalog has them)
TEXTUAL_WORDS = (N_("Quit"), N_("palette"), N_("Search for commands…"))
# the action dialogs' field labels and hints (tui/actions.py)
FIELD_WORDS = (
    N_("note"),
    N_("when"),
    N_("service"),
    N_("number"),
    N_("date"),
    N_("kind"),
    N_("tax ID"),
    N_("amount"),
    N_("empty: next serial"),
    N_("empty: today"),
    N_("+2d, +4h, 1405-09-10 10:00"),
    N_("next follow-up"),
    N_("empty: followup.interval_days ahead"),
)
# words the record screen puts inside f-strings, where `pybabel extract` does not look
RECORD_WORDS = (
    N_("applicant"),
    N_("case"),
    N_("staff"),
    N_("stage"),
    N_("since"),
    N_("y/Y copy"),
    N_("more"),
    N_("contract"),
    N_("invoices"),
    N_("amount"),
    N_("services"),
    N_("requests"),
    N_("related"),
    N_("contact"),
    N_("files"),
    N_("open folder"),
    N_("copy phone"),
    N_("copy email"),
)


def translate_bindings(node: DOMNode) -> None:
    """Replace the node's key labels with their translations (its own copy of the bindings); a
    record action's key (`act('log')`) is named as the action (`action_label`)."""
    table = node._bindings.key_to_bindings
    for key, bindings in list(table.items()):
        table[key] = [
            replace(b, description=_describe(b.action, b.description), tooltip=_(b.tooltip) if b.tooltip else b.tooltip)
            if b.description
            else b
            for b in bindings
        ]


def _describe(action: str, description: str) -> str:
    m = re.fullmatch(r"(?:act|refused)\('([\w-]+)'\)", action)
    return action_label(m.group(1)) if m else _(description)
