"""Pure naming rules (SPEC §6): text normalization, folder-name templates, name validation.

Nothing here touches the filesystem, so the daemon, `doctor`, the index and the TUI can all share
one definition of "a good name" and test it without fixtures.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

from .i18n import _

# --- digits and letters ---------------------------------------------------------------------

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_INDIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
_DIGIT_TABLE = str.maketrans(PERSIAN_DIGITS + ARABIC_INDIC_DIGITS, "0123456789" * 2)
ANY_DIGIT = "[0-9" + PERSIAN_DIGITS + ARABIC_INDIC_DIGITS + "]"

# Arabic look-alikes that Persian keyboards and old documents produce; the procedure's names are
# Persian, so these are folded to the Persian letter for storage comparisons and search.
_ARABIC_TO_PERSIAN = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "أ": "ا", "إ": "ا", "ٱ": "ا", "ؤ": "و"})
ZWNJ = "\u200c"
TATWEEL = "\u0640"
BIDI_MARKS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c")


def ascii_digits(text: str) -> str:
    """Persian and Arabic-Indic digits to ASCII; everything else unchanged."""
    return text.translate(_DIGIT_TABLE)


def digit_variants(text: str) -> list[bytes]:
    """`text` with its digits written in ASCII, Persian and Arabic-Indic, as UTF-8 needles for a
    byte search of logs (a hand edit may use any of the three)."""
    plain = ascii_digits(text)
    return [
        plain.translate(str.maketrans("0123456789", digits)).encode()
        for digits in ("0123456789", PERSIAN_DIGITS, ARABIC_INDIC_DIGITS)
    ]


def persian_letters(text: str) -> str:
    """Arabic ي/ك (and friends) to Persian ی/ک: the one fix the procedure's names always want."""
    return text.replace("ي", "ی").replace("ك", "ک")


def fold(text: str) -> str:
    """Aggressive normalization for comparing and searching text, never for storing it.

    Folds digit scripts, Arabic look-alike letters, diacritics, tatweel, ZWNJ/space differences,
    case and punctuation, so "شركت  نمونه‌پارس" and "شرکت نمونه پارس" compare equal.
    """
    text = unicodedata.normalize("NFKC", text)
    return " ".join(text.translate(_FOLD_TABLE).split())


class _FoldTable(dict):  # type: ignore[type-arg]
    """Per-character folding rules, computed once per character (search and indexing fold a lot)."""

    def __missing__(self, code: int) -> str | None:
        ch = ascii_digits(chr(code)).translate(_ARABIC_TO_PERSIAN)
        out: str | None
        if ch in BIDI_MARKS or ch == TATWEEL:
            out = None
        elif ch == ZWNJ:
            out = " "
        else:
            cat = unicodedata.category(ch)
            if cat.startswith("M"):  # harakat, hamza above, etc.
                out = None
            elif cat.startswith(("P", "S", "Z", "C")):
                out = " "
            else:
                out = ch.lower()
        self[code] = out
        return out


_FOLD_TABLE = _FoldTable()


def fold_compact(text: str) -> str:
    """`fold` without spaces: ZWNJ vs space vs nothing all compare equal."""
    return fold(text).replace(" ", "")


# Company names compared as the same company (returning.name_match, the index's name columns).
# Words that say what kind of organisation it is, not which one (folded forms).
GENERIC_WORDS = frozenset(
    fold(w)
    for w in (
        "شرکت",
        "موسسه",
        "مؤسسه",
        "گروه",
        "صنایع",
        "سهامی",
        "خاص",
        "عام",
        "با",
        "مسئولیت",
        "محدود",
        "تعاونی",
        "تولیدی",
        "بازرگانی",
        "و",
        "co",
        "company",
        "ltd",
        "inc",
        "group",
        "llc",
        "corp",
        "corporation",
        "and",
    )
)


class NameKey(NamedTuple):
    """A company name folded for comparison: whole (no spaces), distinctive part, distinctive words."""

    full: str
    core: str
    words: tuple[str, ...]


@functools.lru_cache(maxsize=65536)  # the TUI asks again for every keystroke-settled name
def name_keys(name: str) -> NameKey:
    """ "شركت نمونه پارس" → ("شرکتنمونهپارس", "نمونهپارس", ("نمونه", "پارس"))."""
    words = fold(name).split()
    full = "".join(words)
    core_words = tuple(w for w in words if w not in GENERIC_WORDS)
    return NameKey(full, "".join(core_words) or full, core_words)


def digits_only(text: str) -> str:
    return re.sub(r"\D", "", ascii_digits(text))


def normalize_phone(text: str) -> str:
    """Canonical Iranian phone form for matching: 0912…, +98 912…, 0098912… → 09121234567."""
    d = digits_only(text)
    if d.startswith("0098"):
        d = "0" + d[4:]
    elif d.startswith("98") and len(d) == 12:
        d = "0" + d[2:]
    elif len(d) == 10 and d.startswith("9"):
        d = "0" + d
    return d


def normalize_code(text: str) -> str:
    """A code as typed (any digit script, stray spaces) to ASCII digits."""
    return ascii_digits(str(text)).strip()


# --- folder templates ---------------------------------------------------------------------------

_FIELD_PATTERNS = {
    "company": r"(?P<company>.+?)",
    "staff": rf"(?P<staff>{ANY_DIGIT}{{2}})",
    "lead": rf"(?P<lead>{ANY_DIGIT}{{5}})",
    "case": rf"(?P<case>{ANY_DIGIT}{{4}})",
}
_DASHES = "-–—"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class FolderTemplate:
    """A config template such as "{company} - {staff} - {lead}", both ways.

    Parsing is forgiving (any dash, any spacing, any digit script) because staff create folders by
    hand; formatting always writes the template's own form.
    """

    template: str

    def fields(self) -> list[str]:
        return _PLACEHOLDER.findall(self.template)

    def regex(self) -> re.Pattern[str]:
        return _template_regex(self.template)

    def parse(self, name: str) -> dict[str, str] | None:
        m = self.regex().match(name.strip())
        if not m:
            return None
        out = {k: v for k, v in m.groupdict().items()}
        for key in ("staff", "lead", "case"):
            if key in out:
                out[key] = ascii_digits(out[key])
        if "company" in out:
            out["company"] = out["company"].strip()
        return out

    def format(self, **values: str) -> str:
        # formatted for every row `list`, `due` and the export print: the template's use of the
        # company and the repaired company are worked out once each
        uses = _company_uses(self.template)
        if uses and "company" in values:
            values["company"] = _safe_company(values["company"])
        name = self.template.format(**values)
        size = len(name.encode("utf-8"))
        if uses and size > MAX_NAME_BYTES:
            # a long company name is cut in the folder name only (the log keeps it whole), so the
            # name stays under the limit and its codes are never the part that is lost
            own = len(values["company"].encode("utf-8"))
            budget = (MAX_NAME_BYTES - (size - uses * own)) // uses
            cut = values["company"].encode("utf-8")[: max(budget, 0)].decode("utf-8", errors="ignore")
            values["company"] = cut.rstrip(" ." + ZWNJ) or "_"
            name = self.template.format(**values)
        return name


@functools.lru_cache(maxsize=32)
def _company_uses(template: str) -> int:
    return _PLACEHOLDER.findall(template).count("company")


@functools.lru_cache(maxsize=32)
def _template_regex(template: str) -> re.Pattern[str]:
    """The compiled pattern of a template, built once: parsing 100,000 folder names with a pattern
    rebuilt per name cost the daemon half a second per inbox file."""
    parts = []
    pos = 0
    for m in _PLACEHOLDER.finditer(template):
        parts.append(_literal_pattern(template[pos : m.start()]))
        name = m.group(1)
        if name not in _FIELD_PATTERNS:
            raise ValueError(_("unknown field {{{name}}} in folder template {template!r}").format(name=name, template=template))
        parts.append(_FIELD_PATTERNS[name])
        pos = m.end()
    parts.append(_literal_pattern(template[pos:]))
    return re.compile("^" + "".join(parts) + "$")


def _literal_pattern(literal: str) -> str:
    out = []
    for ch in literal:
        if ch in _DASHES:
            out.append(f"[{_DASHES}]")
        elif ch.isspace():
            out.append(r"\s*")
        else:
            out.append(re.escape(ch))
    # collapse runs of \s* produced by several spaces
    return re.sub(r"(\\s\*)+", r"\\s*", "".join(out))


# --- name validation ------------------------------------------------------------------------------

FORBIDDEN_CHARS = set('<>:"|?*/\\')
# Windows refuses these as a name's stem (`CON.txt` too), including COM0/LPT0 and the superscript
# digits Windows 10 also maps to ports: a file so named on the share is unreachable from Explorer.
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{port}{d}" for port in ("COM", "LPT") for d in "0123456789\u00b9\u00b2\u00b3"
}
# What a Windows client without long-path support opens: the whole path, server and share
# included, in UTF-16 code units, below MAX_PATH (260 with the terminating NUL).
WINDOWS_MAX_PATH = 259
DEFAULT_SHARE_PREFIX = "\\\\server\\archive"
MAX_NAME_BYTES = 240
# SPEC §6 says 255 bytes, but Linux itself refuses longer names, so that rule could never fire on
# this machine; a name near 255 is what breaks in practice (no room for the " (2)" that filing adds
# on a clash, nor for copies made by other tools). 240 leaves that room. See docs/decisions.md.


@dataclass(frozen=True)
class NameProblem:
    """One thing wrong with one name; `fixable` means `safe_component` can repair it losslessly enough."""

    rule: str
    message: str
    fixable: bool


def too_long(name: str) -> str | None:
    """Why a name is too long for every filesystem the archive may be copied to, or None."""
    size = len(name.encode("utf-8"))
    return (
        _("is {size} bytes; keep names under {max_name_bytes} bytes").format(size=size, max_name_bytes=MAX_NAME_BYTES)
        if size > MAX_NAME_BYTES
        else None
    )


def name_problems(name: str) -> list[NameProblem]:
    """Every rule of SPEC §6 that this single file or folder name breaks."""
    if _already_safe(name):  # nearly every name; a safe name breaks none of the rules below
        return []
    problems: list[NameProblem] = []
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        problems.append(NameProblem("control-char", _("contains a control character"), True))
    if any(ch in BIDI_MARKS for ch in name):
        problems.append(NameProblem("bidi-mark", _("contains an invisible bidi control mark"), True))
    bad = sorted({ch for ch in name if ch in FORBIDDEN_CHARS})
    if bad:
        problems.append(NameProblem("forbidden-char", _("contains {items}").format(items=" ".join(bad)), True))
    if name != name.strip(" ."):
        problems.append(NameProblem("edge-space-dot", _("starts or ends with a space or dot"), True))
    stem = name.split(".")[0].strip().upper()
    if stem in WINDOWS_RESERVED:
        problems.append(NameProblem("reserved-name", _("{stem} is a reserved name on Windows").format(stem=stem), True))
    long = too_long(name)
    if long:
        problems.append(NameProblem("too-long", long, True))
    if name != persian_letters(name):
        problems.append(NameProblem("arabic-letters", _("uses Arabic ي/ك instead of Persian ی/ک"), True))
    return problems


# control characters and bidi marks dropped, forbidden characters replaced by "-"
_SAFE_TABLE: dict[int, str | None] = {
    **{i: None for i in (*range(32), 127)},
    **{ord(c): None for c in BIDI_MARKS},
    **{ord(c): "-" for c in FORBIDDEN_CHARS},
}


def safe_component(name: str) -> str:
    """The nearest name that passes `name_problems`: the single place that repairs names."""
    if _already_safe(name):  # nearly every name: `list --json` and the export build 100,000
        return name
    name = unicodedata.normalize("NFC", persian_letters(name)).translate(_SAFE_TABLE)
    name = name.strip(" .")
    name = re.sub(r" {2,}", " ", name)
    stem, dot, rest = name.partition(".")
    if stem.strip().upper() in WINDOWS_RESERVED:
        name = f"{stem}_{dot}{rest}"
    name = _truncate_utf8(name, MAX_NAME_BYTES)
    return name or "_"


# what safe_component changes: Arabic ي/ك, dropped or replaced characters, a double space, a
# leading or trailing space or dot (NFC, reserved stems and length are checked beside it)
@functools.cache
def _unsafe() -> re.Pattern[str]:  # compiled at the first name checked, not at every command's start
    return re.compile("[يك" + re.escape("".join(chr(c) for c in _SAFE_TABLE)) + "]|  |^[ .]|[ .]$")


def _already_safe(name: str) -> bool:
    """Whether safe_component would return `name` unchanged (each of its steps a no-op)."""
    return (
        bool(name)
        and _unsafe().search(name) is None
        and unicodedata.is_normalized("NFC", name)
        and len(name.encode("utf-8")) <= MAX_NAME_BYTES
        and name.partition(".")[0].strip().upper() not in WINDOWS_RESERVED
    )


_safe_company = functools.lru_cache(maxsize=65536)(safe_component)


def _truncate_utf8(name: str, limit: int) -> str:
    """Cut a name to `limit` UTF-8 bytes keeping the extension, never splitting a character."""
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 16:
        stem, ext, dot = name, "", ""
    budget = limit - len((dot + ext).encode("utf-8"))
    cut = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore").rstrip(" .")
    return cut + dot + ext


def windows_path_length(rel_path: str, share_prefix: str = DEFAULT_SHARE_PREFIX) -> int:
    """How long `rel_path` (relative to the archive root) is for a Windows client of the share."""
    full = share_prefix.rstrip("\\") + "\\" + rel_path.replace("/", "\\")
    return len(full.encode("utf-16-le")) // 2


# -- what Windows and Office leave behind ---------------------------------------------------------

_NOISE_NAMES = {"desktop.ini", "thumbs.db", "ehthumbs.db", "ehthumbs_vista.db", ".ds_store"}


def is_os_noise(name: str) -> bool:
    """Files Explorer and Office make on their own: never filed, never counted as unfiled.

    `desktop.ini`/`Thumbs.db` (folder view and thumbnails), `~$report.docx` (Office owner file),
    `~WRL0001.tmp` (Word's save temp), `.~lock.x.odt#` (LibreOffice), any `*.tmp`.
    """
    low = name.lower()
    return low in _NOISE_NAMES or name.startswith(("~$", ".~lock.")) or low.endswith(".tmp")


# a date (or year-month) starting with the leading 4 digits: `2025-11-30 scan.pdf`,
# `1404_08_15.pdf`, `1404-08 report.pdf`, `2025 11 30 x.pdf`
@functools.cache
def _date_tail() -> re.Pattern[str]:  # compiled when first needed: ~3 ms of every command's start
    return re.compile(
        rf"[\-_./]{ANY_DIGIT}{{1,2}}(?:[\-_./\s]{ANY_DIGIT}{{1,2}})?(?!{ANY_DIGIT})"
        rf"|\s{ANY_DIGIT}{{1,2}}\s{ANY_DIGIT}{{1,2}}(?!{ANY_DIGIT})"
    )


# the digits go on as a bigger number: `1001.5`, `1001,250`, `1001٫5`
@functools.cache
def _number_tail() -> re.Pattern[str]:
    return re.compile(rf"[.,\u066b\u066c]{ANY_DIGIT}")


def leading_code(filename: str) -> str | None:
    """The code a dropped file's name starts with (`2031 contract.pdf`, `۰۰۴۱۷_quote.pdf`), if any.

    The code must stand alone at the start: a 4- or 5-digit run followed by a separator, a dot or
    the end (`20310.pdf` is not case 2031), and not the start of a date (`2025-11-30 scan.pdf`,
    `۱۴۰۴-۰۸-۱۵.pdf` are a scanner's names, not cases 2025 and 1404) or of a longer number.
    """
    m = re.match(rf"^\s*({ANY_DIGIT}{{4,5}})(?=$|[\s_\-.–—])", filename)
    if not m:
        return None
    rest = filename[m.end() :]
    if (len(m.group(1)) == 4 and _date_tail().match(rest)) or _number_tail().match(rest):
        return None
    return ascii_digits(m.group(1))
