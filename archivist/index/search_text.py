"""What the index stores about one record: its row, its searchable text, its name words (pure).

Everything searchable is folded (`naming.fold`) before SQLite sees it, and queries are folded the
same way, so Arabic ي/ك, ZWNJ, diacritics, tatweel and digit scripts never decide a match. Phones
are stored in their canonical form (`naming.normalize_phone`) so every written form finds them.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..dates import as_datetime
from ..naming import FolderTemplate, ascii_digits, fold, fold_compact, name_keys, normalize_phone
from ..record import CONTACT_KEYS, LOG_NAME, Record
from ..store import AREAS
from . import review

try:  # hashlib's own blake2b, without hashlib's import of OpenSSL (3 ms at every command's start)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without it: hashlib picks its fallback
    from hashlib import blake2b

ZWNJ = "\u200c"


SEP = "\x1f"


@dataclass
class Entry:
    """One record as the index keeps it: the `records` row, FTS columns, numbers and name words."""

    row: dict[str, Any]
    ids: str
    names: str
    notes: str
    files: str
    company_key: str
    numbers: list[tuple[str, str]]  # (number, kind)
    words: set[str]


def number_key(text: str) -> str:
    """A contract/invoice number or tax ID as compared: ASCII digits, upper case, no spaces or dashes."""
    return re.sub(r"[\s\-_/]", "", ascii_digits(str(text))).upper()


@lru_cache(maxsize=8)
def _template(text: str) -> FolderTemplate:
    return FolderTemplate(text)


def expected_name(
    templates: tuple[str, str], lead: str | None, case: str | None, staff: str | None, company: str | None
) -> str | None:
    """The folder name the config's templates give these fields (store.folder_name's rule)."""
    try:
        if case:
            return _template(templates[1]).format(case=case, lead=lead or "", staff=staff or "", company=company or "")
        if lead and staff and company:
            return _template(templates[0]).format(company=company, staff=staff, lead=lead)
    except (KeyError, ValueError, IndexError):
        return None
    return None


def path_key(rel: str) -> int:
    """A stable 64-bit key for a folder path (the index looks folders up by it, not by the long path)."""
    return int.from_bytes(blake2b(rel.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


def _epoch(value: Any) -> int | None:
    try:
        dt = as_datetime(value)
    except (ValueError, TypeError):
        return None
    return int(dt.timestamp()) if dt else None


def _iso(value: Any) -> str | None:
    try:
        dt = as_datetime(value)
    except (ValueError, TypeError):
        return None
    return dt.isoformat() if dt else None


def _phones(contact: dict[str, Any]) -> list[str]:
    out = []
    for key in ("mobile", "phone"):
        v = contact.get(key)
        if v:
            d = normalize_phone(str(v))
            if d:
                out.append(d)
    return out


def _returning_columns(company: str, contact: dict[str, str]) -> dict[str, str | None]:
    """What returning.find_similar compares: the name's keys, canonical phones, the email."""
    keys = name_keys(company or "")
    phones = _phones(contact)
    email = (contact.get("email") or "").strip().lower()
    return {
        "name_core": keys.core or None,
        "name_words": " ".join(keys.words) or None,
        "phones": f" {' '.join(phones)} " if phones else None,
        "email": email or None,
    }


@lru_cache(maxsize=16384)
def tokens(text: str) -> str:
    """Folded words, plus each ZWNJ-joined word run together: "پیش‌فاکتور" is also "پیشفاکتور"."""
    f = fold(text)
    if ZWNJ not in text:
        return f
    joined = [fold_compact(w) for w in text.split() if ZWNJ in w]
    return " ".join([f, *joined])


def company_words(name: str) -> str | None:
    """The name's folded words between spaces, then each two neighbours run together: search tells a
    whole word ("توس") from one inside another ("توسعه"), and "به سازان" from "بهسازان" not at all."""
    words = fold(name).split()
    if not words:
        return None
    pairs = [a + b for a, b in zip(words, words[1:], strict=False)]
    return " " + " ".join(words + pairs) + " "


def _name_tokens(text: str) -> str:
    """Name tokens plus the whole name run together, so "نیک‌نام", "نیک نام" and "نیکنام" all match."""
    f = tokens(text)
    if " " in f:
        return f"{f} {fold_compact(text)}"
    return f


def build_entry(rec: Record, rel_path: str, area: str, file_names: list[str], templates: tuple[str, str]) -> Entry:
    """Everything the index stores for one valid record."""
    contact = {k: ("" if v is None else str(v)) for k, v in rec.contact.items()}
    invoices = rec.invoices
    events = rec.events
    last = events[-1] if events else None
    stage = rec.stage_since()
    folder_name = rel_path.rpartition("/")[2]
    row = {
        "pkey": path_key(rel_path),
        "area": AREAS.index(area),
        "name": None if folder_name == expected_name(templates, rec.lead, rec.case, rec.staff, rec.company) else folder_name,
        "folder": folder_name,
        "lead": rec.lead,
        "case": rec.case,
        "staff": rec.staff,
        "company": rec.company,
        "company_key": fold_compact(rec.company),
        "company_words": company_words(rec.company),
        "status": rec.status,
        **_returning_columns(rec.company, contact),
        "next_ts": _epoch(rec.data.get("next_followup")),
        "stage_ts": int(stage.timestamp()) if stage else None,
        "opened_ts": _epoch(events[0].get("at")) if events else None,
        "last_ts": _epoch(last.get("at")) if last else None,
        "last_kind": str(last.get("kind")) if last else None,
        "contract": rec.contract,
        "invoices": json.dumps(
            [[str(i.get("number")), i.get("tax_id"), _iso(i.get("date")), i.get("amount")] for i in invoices],
            ensure_ascii=False,
            default=str,
            separators=(",", ":"),
        )
        if invoices
        else None,
        "contact": SEP.join(contact.get(k, "") for k in CONTACT_KEYS).rstrip(SEP) or None,
        "services": SEP.join(str(s) for s in rec.services) or None,
        "files": len(file_names),
        "stale": 0,
        "due_head": review.head(rec.lead, rec.case, rec.staff),
        "due_tail": review.tail(rec.company),
        "json_head": review.json_head(rec.lead, rec.case, rec.company, rec.staff, rec.status),
        "json_path": review.json_path(AREAS.index(area), folder_name),
    }
    numbers: list[tuple[str, str]] = []
    if rec.contract:
        numbers.append((number_key(rec.contract), "contract"))
    for inv in invoices:
        numbers.append((number_key(str(inv.get("number") or "")), "invoice"))
        if inv.get("tax_id"):
            numbers.append((number_key(inv["tax_id"]), "tax_id"))
    email = contact.get("email", "")
    ids = [rec.lead, rec.case or "", *(n for n, _ in numbers), *_phones(contact)]
    if email:
        ids += [fold_compact(email), fold(email)]
    names_parts = [
        _name_tokens(rec.company),
        _name_tokens(contact.get("person", "")),
        _name_tokens(contact.get("consultant", "")),
    ]
    notes = [tokens(str(ev.get("note") or "")) for ev in events if ev.get("note")]
    notes += [tokens(str(r)) for r in rec.requests]
    if contact.get("messenger"):
        notes.append(fold(contact["messenger"]))
    words: set[str] = set()
    for part in (rec.company, contact.get("person", ""), contact.get("consultant", "")):
        words.update(w for w in fold(part).split() if len(w) >= 3 and not w.isdigit())
    return Entry(
        row=row,
        ids=" ".join(x for x in ids if x),
        names=" ".join(x for x in names_parts if x),
        notes=" ".join(notes),
        files=" ".join(tokens(n) for n in file_names),
        company_key=str(row["company_key"] or ""),
        numbers=sorted(set(numbers)),
        words=words,
    )


def split_contact(value: str | None) -> dict[str, str]:
    parts = (value or "").split(SEP)
    parts += [""] * (len(CONTACT_KEYS) - len(parts))
    return dict(zip(CONTACT_KEYS, parts, strict=False))


def placeholder_entry(
    rel_path: str, area: str, parsed: dict[str, str] | None, file_names: list[str], templates: tuple[str, str]
) -> Entry:
    """A record whose log is invalid and was never indexed: findable by what its folder name says."""
    parsed = parsed or {}
    company = parsed.get("company") or ""
    folder_name = rel_path.rpartition("/")[2]
    lead, case, staff = parsed.get("lead"), parsed.get("case"), parsed.get("staff")
    row = {
        "pkey": path_key(rel_path),
        "area": AREAS.index(area),
        "name": None if folder_name == expected_name(templates, lead, case, staff, company) else folder_name,
        "folder": folder_name,
        "lead": lead,
        "case": case,
        "staff": staff,
        "company": company or None,
        "company_key": fold_compact(company) or None,
        "company_words": company_words(company),
        "status": None,
        "name_core": None,
        "name_words": None,
        "phones": None,
        "email": None,
        "next_ts": None,
        "stage_ts": None,
        "opened_ts": None,
        "last_ts": None,
        "last_kind": None,
        "contract": None,
        "invoices": None,
        "contact": None,
        "services": None,
        "files": len(file_names),
        "stale": 1,
        "due_head": review.head(lead, case, staff),
        "due_tail": review.tail(company or None),
        "json_head": review.json_head(lead, case, company or None, staff, None),
        "json_path": review.json_path(AREAS.index(area), folder_name),
    }
    ids = " ".join(x for x in (lead, case) if x)
    return Entry(
        row,
        ids,
        _name_tokens(company),
        "",
        " ".join(tokens(n) for n in file_names),
        str(row["company_key"] or ""),
        [],
        {w for w in fold(company).split() if len(w) >= 3},
    )


def list_files(folder: str) -> tuple[list[str], int | str]:
    """(file names inside a record folder, relative, sorted; the folder's change signature).

    The signature is the folder's mtime (an int), or text adding each sub-folder's mtime: adding,
    removing or renaming a file changes its parent's mtime, so equal signatures mean equal lists.
    """
    names: list[str] = []
    subs: list[str] = []
    root_mtime = 0
    stack = [(folder, "")]
    while stack:
        d, prefix = stack.pop()
        try:
            it = os.scandir(d)
            st = os.stat(d)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if prefix:
            subs.append(f"{prefix}:{st.st_mtime_ns}")
        else:
            root_mtime = st.st_mtime_ns
        with it:
            for e in it:
                name = e.name
                if not prefix and name == LOG_NAME:
                    continue
                if name.startswith(".") and name.endswith(".tmp"):
                    continue
                if e.is_dir(follow_symlinks=False):
                    stack.append((e.path, prefix + name + "/"))
                else:
                    names.append(prefix + name)
    names.sort()
    if not subs:
        return names, root_mtime
    subs.sort()
    return names, "|".join([str(root_mtime), *subs])


def dir_signature(folder: str, old_sig: int | str | None) -> int | str | None:
    """The signature `list_files` would give, from stats alone (None if the folder is gone)."""
    try:
        root_mtime = os.stat(folder).st_mtime_ns
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not isinstance(old_sig, str):
        return root_mtime
    parts = [str(root_mtime)]
    for part in old_sig.split("|")[1:]:
        prefix = part.rpartition(":")[0]
        try:
            parts.append(f"{prefix}:{os.stat(folder + '/' + prefix).st_mtime_ns}")
        except (FileNotFoundError, NotADirectoryError):
            parts.append(f"{prefix}:gone")
    return "|".join(parts)


def deletions(word: str) -> set[str]:
    """The word with each single letter removed: keys of the typo-tolerance table."""
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def within_one_edit(a: str, b: str) -> bool:
    """Levenshtein distance ≤ 1 (one wrong, missing or extra letter), plus one swap of neighbours."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    if la > lb:
        a, b = b, a
    return any(b[:i] + b[i + 1 :] == a for i in range(len(b)))
