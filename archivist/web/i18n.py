"""The web app's words, in the one message catalog (archivist/i18n.py, `archivist/locale/`).

Templates call `t("key")` for a page word, `t.stage()`, `t.kind()`, `t.action()` for the domain's
words (the same labels the TUI shows), and `t.digits()` to show digits in Persian on a Persian
page. The keys below map to English source strings marked for extraction; their Persian is in
`archivist/locale/fa/LC_MESSAGES/archivist.po` like every other string (README "Translations").
Nothing here parses input: the domain reads typed digits in any script.
"""

from __future__ import annotations

import functools

from .. import i18n
from ..i18n import N_
from ..naming import PERSIAN_DIGITS
from ..record import EVENT_KINDS
from ..stages import STAGES, TRANSITIONS

LANGUAGES = i18n.LANGUAGES

WORDS: dict[str, str] = {
    "app": N_("Archivist"),
    "login": N_("Log in"),
    "logout": N_("Log out"),
    "staff_number": N_("Staff number"),
    "password": N_("Password"),
    "login_failed": N_("Wrong staff number or password."),
    "login_throttled": N_("Too many failed attempts; try again in a minute."),
    "session_expired": N_("Your session ended; please log in again."),
    "search": N_("Search"),
    "search_hint": N_("Company, code, phone, contract or invoice number…"),
    "my_records": N_("My open records, most urgent first"),
    "results": N_("results"),
    "no_results": N_("Nothing found."),
    "all_stages": N_("All stages"),
    "all_staff": N_("All staff"),
    "open_only": N_("Open"),
    "archived_only": N_("Archived"),
    "open_and_archived": N_("Open and archived"),
    "filter": N_("Apply"),
    "my_day": N_("My day"),
    "register": N_("Register"),
    "master_list": N_("Applicants and customers (F-31-08-02)"),
    "master_short": N_("Master list"),
    "export_xlsx": N_("Download XLSX"),
    "export_csv": N_("Download CSV"),
    "lead": N_("Applicant code"),
    "case": N_("Case code"),
    "company": N_("Company"),
    "staff": N_("Staff"),
    "stage": N_("Stage"),
    "next_followup": N_("Next follow-up"),
    "contact": N_("Contact"),
    "person": N_("Contact person"),
    "consultant": N_("Consultant"),
    "mobile": N_("Mobile"),
    "phone": N_("Phone"),
    "messenger": N_("Messenger"),
    "email": N_("Email"),
    "services": N_("Requested services"),
    "requests": N_("Requests"),
    "contract": N_("Contract"),
    "invoices": N_("Invoices"),
    "contract_invoices": N_("Contract and invoices"),
    "invoice_number": N_("Number"),
    "tax_id": N_("Tax ID"),
    "amount": N_("Amount"),
    "date": N_("Date"),
    "timeline": N_("Timeline"),
    "by": N_("By"),
    "kind": N_("Kind"),
    "note": N_("Note"),
    "files": N_("Files"),
    "no_files": N_("No files in the folder."),
    "download": N_("Download"),
    "preview": N_("Preview"),
    "upload": N_("Upload"),
    "drop_here": N_("Drop files here or choose them"),
    "uploaded": N_("Saved in the record folder"),
    "too_big": N_("The file is larger than allowed"),
    "actions": N_("Actions"),
    "not_now": N_("Not possible now"),
    "done": N_("Done"),
    "refused": N_("Refused"),
    "overdue": N_("Overdue"),
    "today": N_("Today"),
    "stuck": N_("Stuck"),
    "office": N_("Office"),
    "violations": N_("Naming violations"),
    "unfiled": N_("Unfiled inbox files"),
    "last_backup": N_("Last backup"),
    "daemon": N_("Daemon"),
    "running": N_("running"),
    "not_running": N_("not running"),
    "never": N_("never"),
    "overdue_backup": N_("backup overdue; plug in the drive"),
    "none": N_("—"),
    "save": N_("Save"),
    "check": N_("Check"),
    "likely_returning": N_("This company is probably already known:"),
    "confirm_returning": N_("Register anyway (linked to the earlier records)"),
    "registered": N_("Registered"),
    "not_found": N_("Not found"),
    "error": N_("Something went wrong; try again or tell whoever runs the office machine."),
    "forbidden": N_("The request was not accepted (an old form?); reload the page."),
    "records_count": N_("records"),
    "page": N_("Page"),
    "next": N_("Next"),
    "previous": N_("Previous"),
    "folder": N_("Folder"),
    "opened": N_("Opened"),
    "last_event": N_("Last event"),
    "related": N_("Related records"),
    "choose": N_("choose"),
    "required": N_("required"),
}

FIELDS: dict[str, str] = {
    "kind": N_("Kind"),
    "note": N_("Note"),
    "when": N_("When"),
    "service": N_("Service"),
    "number": N_("Number"),
    "tax_id": N_("Tax ID"),
    "amount": N_("Amount"),
    "date": N_("Date"),
    "next": N_("Next follow-up"),
}

PLACEHOLDERS: dict[str, str] = {
    "when": N_("+2d, +4h, 1405-09-10 10:00"),
    "number": N_("empty: the next serial"),
    "date": N_("empty: today"),
}

_TO_PERSIAN = str.maketrans("0123456789", PERSIAN_DIGITS)


@functools.lru_cache(maxsize=4)
def _labels(lang: str) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The domain's stage, event and action labels in `lang`, made once (a results page shows
    hundreds of them)."""
    with i18n.language(lang):
        return (
            {s: i18n.stage_label(s) for s in STAGES},
            {k: i18n.kind_label(k) for k in EVENT_KINDS},
            {a: i18n.action_label(a) for a in TRANSITIONS},
        )


class Words:
    """The words of one page, in one language (what templates get as `t`)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else i18n.DEFAULT_LANGUAGE
        self._tr = i18n.translations(self.lang)

    def __call__(self, key: str) -> str:
        source = WORDS.get(key)
        return self._tr.gettext(source) if source else key

    def stage(self, name: str | None) -> str:
        return _labels(self.lang)[0].get(name or "", name or "")

    def kind(self, name: str | None) -> str:
        return _labels(self.lang)[1].get(name or "", name or "")

    def action(self, name: str) -> str:
        return _labels(self.lang)[2].get(name, name)

    def field(self, name: str) -> str:
        source = FIELDS.get(name)
        return self._tr.gettext(source) if source else name

    def placeholder(self, name: str) -> str:
        source = PLACEHOLDERS.get(name)
        return self._tr.gettext(source) if source else ""

    def digits(self, value: object) -> str:
        """Persian digits on a Persian page; codes and dates keep their shape."""
        text = "" if value is None else str(value)
        return text.translate(_TO_PERSIAN) if self.lang == "fa" else text

    @property
    def dir(self) -> str:
        return "rtl" if self.lang == "fa" else "ltr"
