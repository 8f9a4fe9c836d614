"""Returning companies: is a new applicant someone we already know, open or archived?

The quality unit wants every service traceable to a company years later, so a company that comes
back must be linked to its earlier records (`related:` in the new log) instead of starting a second,
unrelated history. Staff type names with Arabic or Persian letters, with or without ZWNJ, with
typos; so names are compared after `fold_compact`, with and without the generic words that most
names share ("شرکت", "گروه", "Co."), allowing a small edit distance. Phone and email match exactly
after normalization.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from .config import Config
from .errors import InvalidLogError
from .naming import fold, normalize_phone
from .record import Record, load_record, log_bytes
from .store import iter_record_folders, layout_of

# Words that say what kind of organisation it is, not which one (folded forms).
GENERIC_WORDS = frozenset(fold(w) for w in (
    "شرکت", "موسسه", "مؤسسه", "گروه", "صنایع", "سهامی", "خاص", "عام", "با", "مسئولیت", "محدود", "تعاونی",
    "تولیدی", "بازرگانی", "و", "co", "company", "ltd", "inc", "group", "llc", "corp", "corporation", "and",
))

_COMPANY_LINE = re.compile(r"^company:[ \t]*(.+?)[ \t]*$", re.M)
_CONTACT_FIELD = re.compile(r"\b(mobile|phone|email):[ \t]*([^,}\n]*)")


class NameKey(NamedTuple):
    """A company name folded for comparison: whole (no spaces), distinctive part, distinctive words."""

    full: str
    core: str
    words: tuple[str, ...]


@functools.lru_cache(maxsize=65536)  # the TUI asks again for every keystroke-settled name
def name_keys(name: str) -> NameKey:
    """"شركت نمونه پارس" → ("شرکتنمونهپارس", "نمونهپارس", ("نمونه", "پارس"))."""
    words = fold(name).split()
    full = "".join(words)
    core_words = tuple(w for w in words if w not in GENERIC_WORDS)
    return NameKey(full, "".join(core_words) or full, core_words)


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or limit + 1 once it must exceed `limit`.

    Only the diagonal band |i - j| <= limit is computed, so comparing a name with every record
    costs a few dozen steps per record instead of len(a) * len(b).
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if a == b:
        return 0
    big = limit + 1
    prev = [j if j <= limit else big for j in range(len(b) + 1)]
    for i in range(1, len(a) + 1):
        lo, hi = max(1, i - limit), min(len(b), i + limit)
        cur = [big] * (len(b) + 1)
        cur[0] = i if i <= limit else big
        ca = a[i - 1]
        for j in range(lo, hi + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != b[j - 1]), big)
        if min(cur[max(0, lo - 1) : hi + 1]) > limit:
            return big
        prev = cur
    return min(prev[-1], big)


def _allowed_typos(text: str) -> int:
    """How many typos still mean "the same name": none for very short names, 2 for long ones."""
    n = len(text)
    return 0 if n < 4 else 1 if n < 10 else 2


def name_match(new: str | NameKey, old: str | NameKey) -> tuple[float, str] | None:
    """(score, why) if two company names are likely the same company, else None. Pure.

    Either side may be given as its `name_keys` so a loop folds the new name only once.
    """
    a = name_keys(new) if isinstance(new, str) else new
    b = name_keys(old) if isinstance(old, str) else old
    if not a.full or not b.full:
        return None
    if a.full == b.full:
        return 1.0, "same name"
    if a.core == b.core and len(a.core) >= 3:
        return 0.95, "same name apart from generic words"
    for x, y in ((a.full, b.full), (a.core, b.core)):
        limit = _allowed_typos(min(x, y, key=len))
        if limit and (d := edit_distance(x, y, limit)) <= limit:
            return 0.9 - 0.1 * d, f"name differs by {d} letter{'s' if d > 1 else ''}"
    # "فولاد مبارکه" inside "صنایع فولاد مبارکه اصفهان": whole distinctive words, not letters, and
    # enough of them that one shared word ("پارس") does not link unrelated companies.
    short, long_ = sorted((a.words, b.words), key=len)
    if short and set(short) <= set(long_) and (
            len(short) >= 2 and len(long_) - len(short) <= 2 or len(short[0]) >= 5 and len(long_) == 2):
        return 0.6, "one name contains the other"
    return None


def _scalar(text: str) -> str:
    text = text.strip()
    if text in ("''", '""', "", "null", "~"):
        return ""
    q = text[:1]
    if q in "\"'":
        if text[-1:] == q and "\\" not in text and q + q not in text[1:-1]:
            return text[1:-1]
        try:
            value = yaml.safe_load(text)
            return "" if value is None else str(value)
        except yaml.YAMLError:
            return text.strip("\"'")
    return text.split(" #", 1)[0].strip()


def _quick_fields(raw: bytes) -> tuple[str, list[str], list[str]]:
    """Company, phones and emails read from a log's text without parsing the YAML (the fast path)."""
    head, _sep, _events = raw.partition(b"\nevents:")  # the timeline can be long and never matters here
    text = head.decode("utf-8", errors="replace")
    m = _COMPANY_LINE.search(text)
    company = _scalar(m.group(1)) if m else ""
    phones, emails = [], []
    for key, value in _CONTACT_FIELD.findall(text):
        v = _scalar(value)
        if not v:
            continue
        if key == "email":
            emails.append(v.lower())
        else:
            phones.append(normalize_phone(v))
    return company, phones, emails


def _summary(rec: Record, score: float, why: str) -> dict[str, Any]:
    last = rec.last_event() or {}
    at = last.get("at")
    return {
        "code": rec.code, "lead": rec.lead, "case": rec.case, "company": rec.company, "status": rec.status,
        "archived": rec.status == "archived", "staff": rec.staff,
        "last_event": {"at": at.isoformat() if hasattr(at, "isoformat") else at, "kind": last.get("kind"),
                       "by": last.get("by"), "note": last.get("note") or ""} if last else None,
        "path": str(rec.folder), "score": round(score, 2), "why": why,
    }


def find_similar(cfg: Config, company: str, phone: str | None = None, email: str | None = None,
                 limit: int = 10) -> list[dict[str, Any]]:
    """Earlier records (open and archived) that are likely the same company, best first.

    Every log is read as text (not YAML) and judged by `name_match`, phone and email. The index is
    deliberately not the source here: its search ranks partial hits for a person to pick from,
    while this needs a yes/no "same company" judgement with a bounded number of typos, and it must
    work with no index at all (the daemon may not run). The scan costs 0.6-1 s per 10,000
    records (bench archive, busy 2-core machine). Each match is a dict with code, lead, case, company,
    status, archived, staff, last_event, path, score and why; only the matches' logs are parsed.
    """
    want_phone = normalize_phone(phone) if phone else ""
    if len(want_phone) < 7:
        want_phone = ""
    want_email = (email or "").strip().lower()
    scored: dict[Path, tuple[float, str]] = {}

    want_name = name_keys(company)

    def judge(folder: Path, name: str, phones: list[str], emails: list[str]) -> None:
        best = name_match(want_name, name_keys(name)) if name else None
        if want_phone and want_phone in phones:
            best = max(best or (0, ""), (0.85, "same phone"))
        if want_email and want_email in emails:
            best = max(best or (0, ""), (0.85, "same email"))
        if best:
            scored[folder] = max(scored.get(folder, (0, "")), best)

    for _area, folder in iter_record_folders(layout_of(cfg)):
        raw = log_bytes(folder)
        if not raw:
            continue
        judge(folder, *_quick_fields(raw))

    out = []
    for folder, (score, why) in scored.items():
        try:
            rec = load_record(folder)
        except (InvalidLogError, OSError):
            continue
        out.append(_summary(rec, score, why))
    out.sort(key=lambda m: (-m["score"], m["code"]))
    return out[:limit]
