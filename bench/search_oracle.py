"""`archivist search` against a plain oracle: recall, precision and exact-before-fuzzy, per query class.

`python -m bench.search_oracle [--dir /tmp/search-oracle] [--records 2050] [--queries 372] [--seed 1]`

A generated archive (bench.scratch.generate, seed fixed) is indexed the usual way; 372 queries are
drawn from the records themselves over the classes below. The oracle knows nothing of the index:
it reads every log with yaml.safe_load, lists every file, and matches each query by plain
normalized words over the record's text (company, contact person and consultant, notes, requests,
messenger, file names) and whole values for the structured fields (codes, contract/invoice
numbers, tax IDs, phones, emails). Its normalization is written here, from the office's rules:
Persian and Arabic-Indic digits are digits, Arabic ي/ك are Persian ی/ک, ZWNJ is a space and a word
written with a ZWNJ, a space or nothing is the same word, diacritics and tatweel do not count,
Latin case does not count, punctuation separates words.

Per class it prints
- recall@50: the share of the oracle's records in the top 50 (of at most 50 of them); "1 field"
  the same against an oracle that wants every word in one text (the name, one note, one file
  name): search joins words across fields only as a last resort (its cost), so the gap between
  the two columns is records whose words are spread over several fields;
- P@10: the share of the top min(10, oracle count) results that the oracle holds;
- exact first (exact classes): the share of queries where no record the oracle does not hold is
  ranked above one it holds (a fuzzy-only or prefix-only hit above an exact one fails it);
- person first (person class): the records whose contact person or consultant is exactly that
  name come before every other result;
and overall numbers, search p50/p95 in process, and the oracle's time per query against search's
(the baseline ratio: a plain scan of the same 2,050 records).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from archivist.config import load_config
from archivist.index import open_index
from archivist.record import LOG_NAME

from .hostile_logs import CONFIG
from .run import typo
from .scratch import fresh_config, generate

ZWNJ = "\u200c"
FA_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
AR_DIGITS = "٠١٢٣٤٥٦٧٨٩"
TO_FA = str.maketrans("0123456789", FA_DIGITS)
TO_AR = str.maketrans("0123456789", AR_DIGITS)
_DIGITS = {ord(c): str(i) for i, c in enumerate(FA_DIGITS)} | {ord(c): str(i) for i, c in enumerate(AR_DIGITS)}
_LETTERS = {ord("ي"): "ی", ord("ى"): "ی", ord("ئ"): "ی", ord("ك"): "ک", ord("ة"): "ه", ord("أ"): "ا", ord("إ"): "ا"}
_LETTERS |= {ord("ٱ"): "ا", ord("ؤ"): "و", ord("ۀ"): "ه"}

EXACT = (
    "note-word",
    "file-word",
    "company",
    "company-part",
    "person",
    "phone",
    "email",
    "code",
    "number",
    "arabic",
    "zwnj",
)
CLASSES = {  # class: how many of the 372 queries
    "note-word": 30,
    "file-word": 30,
    "company": 40,
    "company-part": 30,
    "person": 30,
    "phone": 50,
    "email": 20,
    "code": 30,
    "number": 30,
    "arabic": 30,
    "zwnj": 30,
    "typo": 22,
}


# -- the oracle's own normalization (independent of archivist.naming) -------------------------------
def norm(text: str) -> str:
    """Lower-cased, one script of digits and letters, marks dropped, punctuation and ZWNJ as spaces."""
    out = []
    for ch in unicodedata.normalize("NFKC", str(text)).translate(_DIGITS).translate(_LETTERS).lower():
        cat = unicodedata.category(ch)
        if ch == ZWNJ or cat[0] in "PSZC":
            out.append(" ")
        elif cat[0] == "M" or ch == "\u0640":
            continue
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def canonical_phone(text: str) -> str:
    d = "".join(ch for ch in str(text).translate(_DIGITS) if ch.isdigit())
    if d.startswith("0098"):
        return "0" + d[4:]
    if d.startswith("98") and len(d) == 12:
        return "0" + d[2:]
    if len(d) == 10 and d.startswith("9"):
        return "0" + d
    return d


def compact_number(text: str) -> str:
    return re.sub(r"[\s\-_/.]", "", str(text).translate(_DIGITS)).upper()


@dataclass
class Doc:
    lead: str
    case: str
    company: str
    person: str
    consultant: str
    words: set[str] = field(default_factory=set)  # every word, plus runs of words written together
    values: set[str] = field(default_factory=set)  # structured values, whole
    phones: set[str] = field(default_factory=set)
    texts: list[str] = field(default_factory=list)  # the raw free text, for drawing queries
    files: list[str] = field(default_factory=list)
    fields: list[set[str]] = field(default_factory=list)  # the words of each text on its own


def _add_text(doc: Doc, text: str) -> None:
    if not text:
        return
    doc.texts.append(text)
    words = norm(text).split()
    own = set(words)
    for n in (2, 3):  # "پیش فاکتور" / "پیش‌فاکتور" / "پیشفاکتور" are one word to a reader
        own.update("".join(words[i : i + n]) for i in range(len(words) - n + 1))
    doc.words |= own
    doc.fields.append(own)


def load_docs(root: Path) -> list[Doc]:
    docs = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if LOG_NAME not in filenames:
            continue
        with open(os.path.join(dirpath, LOG_NAME), encoding="utf-8") as f:
            data: dict[str, Any] = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        contact = {k: str(v or "") for k, v in (data.get("contact") or {}).items()}
        doc = Doc(
            str(data["lead"]),
            str(data.get("case") or ""),
            str(data["company"]),
            contact.get("person", ""),
            contact.get("consultant", ""),
        )
        for text in (doc.company, doc.person, doc.consultant, contact.get("messenger", ""), contact.get("email", "")):
            _add_text(doc, text)
        for ev in data.get("events") or []:
            _add_text(doc, str(ev.get("note") or ""))
        for r in data.get("requests") or []:
            _add_text(doc, str(r))
        files = []
        for d, _sub, names in os.walk(dirpath):
            rel = os.path.relpath(d, dirpath)
            files += [n if rel == "." else f"{rel}/{n}" for n in names if not (rel == "." and n == LOG_NAME)]
        for name in files:
            _add_text(doc, name)
        doc.files = files
        doc.values.update(v for v in (doc.lead, doc.case) if v)
        if data.get("contract"):
            doc.values.add(compact_number(data["contract"]))
        for inv in data.get("invoices") or []:
            doc.values.add(compact_number(inv.get("number") or ""))
            if inv.get("tax_id"):
                doc.values.add(compact_number(inv["tax_id"]))
        if contact.get("email"):
            doc.values.add(contact["email"].strip().lower())
        doc.phones.update(canonical_phone(contact[k]) for k in ("mobile", "phone") if contact.get(k))
        docs.append(doc)
    return docs


def oracle(docs: list[Doc], query: str, one_field: bool = False) -> set[str]:
    """The leads of the records holding what was typed, by plain matching (`one_field`: all the
    words in one text: the name, one note, one file name)."""
    q = query.strip()
    digits = canonical_phone(q)
    if len(digits) >= 7 and re.fullmatch(r"[\s\d+()\-./۰-۹٠-٩]+", q) and digits.startswith("0"):
        found = {d.lead for d in docs if digits in d.phones}
        if found:
            return found
    value = compact_number(q).lower() if "@" not in q else q.lower()
    by_value = {d.lead for d in docs if value in d.values or value.upper() in d.values}
    words = norm(q).split()
    if not words:
        return by_value
    joined = "".join(words)

    def holds(found: set[str]) -> bool:
        return joined in found or all(w in found for w in words)

    if one_field:
        return by_value | {d.lead for d in docs if any(holds(f) for f in d.fields)}
    return by_value | {d.lead for d in docs if holds(d.words)}


# -- the queries ----------------------------------------------------------------------------------------
def _phone_forms(raw: str) -> list[str]:
    d = canonical_phone(raw)
    if d.startswith("09") and len(d) == 11:
        a, b, c = d[:4], d[4:7], d[7:]
        forms = [
            d,
            f"{a} {b} {c}",
            f"{a}-{b}-{c}",
            f"{a}.{b}.{c}",
            f"{a}/{b}/{c}",
            f"({a}) {b} {c}",
            f"({a}) {b}.{c}",
            f"+98 {a[1:]} {b} {c}",
            f"+98 ({a[1:]}) {b}-{c}",
            "0098" + d[1:],
            "+98" + d[1:],
        ]
    else:
        area, rest = d[:3], d[3:]
        forms = [d, f"{area}-{rest}", f"({area}) {rest}", f"{area} {rest}", f"{area}.{rest}", f"{area}/{rest}"]
    forms += [f.translate(TO_FA) for f in forms[:3]] + [f.translate(TO_AR) for f in forms[:2]]
    return forms


def make_queries(docs: list[Doc], seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []

    def words_of(pick: Callable[[Doc], list[str]]) -> list[str]:
        return sorted({w for d in docs for t in pick(d) for w in t.split() if len(norm(w)) >= 3})

    free = [t for d in docs for t in d.texts]
    note_words = sorted({w for t in free for w in t.split() if len(w) >= 3 and not re.search(r"[.\d_]", w)})
    file_words = sorted({w for d in docs for t in d.files for w in re.split(r"[ ._/]", t) if len(w) >= 3})
    file_words = [w for w in file_words if not w.isdigit() and w not in ("pdf", "jpg", "png", "zip", "docx", "xlsx")]
    company_words = words_of(lambda d: [d.company])
    with_phone = [d for d in docs if d.phones]
    for cls, n in CLASSES.items():
        for _ in range(n):
            d = rng.choice(docs)
            if cls == "note-word":
                q = rng.choice(note_words)
            elif cls == "file-word":
                q = rng.choice(file_words)
            elif cls == "company":
                q = d.company
            elif cls == "company-part":
                ws = d.company.split()
                k = rng.randint(1, max(1, len(ws) - 1))
                start = rng.randrange(len(ws) - k + 1)
                q = " ".join(ws[start : start + k])
            elif cls == "person":
                q = d.person
            elif cls == "phone":
                d = rng.choice(with_phone)
                q = rng.choice(_phone_forms(rng.choice(sorted(d.phones))))
            elif cls == "email":
                q = rng.choice([x for x in docs if any("@" in v for v in x.values)]).values
                q = next(v for v in sorted(q) if "@" in v)
                q = rng.choice([q, q.upper(), q.split("@")[0]])
            elif cls == "code":
                q = d.case if d.case and rng.random() < 0.5 else d.lead
                q = rng.choice([q, q.translate(TO_FA), q.translate(TO_AR)])
            elif cls == "number":
                vals = sorted(v for x in docs for v in x.values if len(v) >= 8 and "@" not in v)
                v = rng.choice(vals)
                forms = [v, v.translate(TO_FA)]
                if v.isdigit() and len(v) == 8:  # a contract: 1405-0001
                    forms += [f"{v[:4]}-{v[4:]}", f"{v[:4]}-{v[4:]}".translate(TO_FA), f"{v[:4]} {v[4:]}"]
                elif v.isdigit():
                    forms += [f"{v[:4]} {v[4:]}"]
                q = rng.choice(forms)
            elif cls == "arabic":
                src = rng.choice([d.company, d.person, rng.choice(note_words)])
                if "ی" in src or "ک" in src:
                    q = src.replace("ی", "ي").replace("ک", "ك")
                else:
                    q = src.replace("ي", "ی").replace("ك", "ک") if ("ي" in src or "ك" in src) else d.person.replace("ی", "ي")
            elif cls == "zwnj":
                zw = sorted({w for t in free for w in t.split() if ZWNJ in w})
                w = rng.choice(zw)
                q = rng.choice([w.replace(ZWNJ, " "), w.replace(ZWNJ, ""), w])
            else:  # typo: one letter off in a company word of 5+ letters (the intended word is the oracle's)
                w = rng.choice([x for x in company_words if len(x) >= 5 and not x.isascii()] or company_words)
                out.append((cls, f"{typo(w, rng)}\t{w}"))
                continue
            out.append((cls, q))
    return out


# -- the run ----------------------------------------------------------------------------------------------
def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))]


def evaluate(docs: list[Doc], idx: Any, queries: list[tuple[str, str]], repeat: int = 3) -> dict[str, Any]:
    per: dict[str, dict[str, list[float]]] = {c: {"recall": [], "one": [], "p10": [], "order": [], "person": []} for c in CLASSES}
    search_t: list[float] = []
    oracle_t: list[float] = []
    misses: dict[str, list[str]] = {c: [] for c in CLASSES}
    by_lead = {d.lead: d for d in docs}
    for cls, raw in queries:
        q, _, intended = raw.partition("\t")
        best = float("inf")
        for _ in range(repeat):  # the fastest of a few: a shared machine's noise, not the search's
            t = time.perf_counter()
            hits = idx.search(q, limit=50)
            best = min(best, time.perf_counter() - t)
        search_t.append(best)
        t = time.perf_counter()
        truth = oracle(docs, intended or q)
        oracle_t.append(time.perf_counter() - t)
        got = [h["lead"] for h in hits]
        if not truth:
            continue
        want = min(len(truth), 50)
        rec = len(set(got) & truth) / want
        per[cls]["recall"].append(rec)
        one = oracle(docs, intended or q, one_field=True)
        if one:
            per[cls]["one"].append(len(set(got) & one) / min(len(one), 50))
        k = min(10, len(truth))
        per[cls]["p10"].append(sum(1 for g in got[:k] if g in truth) / k)
        if cls in EXACT:
            last_in = max((i for i, g in enumerate(got) if g in truth), default=-1)
            first_out = min((i for i, g in enumerate(got) if g not in truth), default=len(got))
            per[cls]["order"].append(float(last_in < first_out))
        if cls == "person":
            nq = norm(q)
            exact = {d.lead for d in docs if nq in (norm(d.person), norm(d.consultant))}
            first = got[: len(exact)]
            per[cls]["person"].append(float(set(first) == exact or (len(exact) > 50 and set(first) <= exact)))
        if rec < 1 or (cls in EXACT and per[cls]["order"][-1] < 1):
            top = ", ".join(f"{h['lead']}{'+' if h['lead'] in truth else '-'}{h['score']}:{h['matched']}" for h in hits[:6])
            lost = sorted(truth - set(got))[:3]
            misses[cls].append(
                f"{q!r} oracle {len(truth)} recall {rec:.2f} · top {top} · lost {[by_lead[x].company for x in lost]}"
            )
    return {"per": per, "search_t": search_t, "oracle_t": oracle_t, "misses": misses}


def _mean(xs: list[float]) -> str:
    return f"{statistics.fmean(xs):.3f}" if xs else "  -  "


def report(res: dict[str, Any], verbose: int) -> dict[str, float]:
    per = res["per"]
    print(f"{'class':<13} {'n':>3} {'recall@50':>9} {'(1 field)':>9} {'P@10':>6} {'exact first':>11} {'person first':>12}")
    for cls in CLASSES:
        p = per[cls]
        print(
            f"{cls:<13} {len(p['recall']):>3} {_mean(p['recall']):>9} {_mean(p['one']):>9} {_mean(p['p10']):>6} "
            f"{_mean(p['order']):>11} {_mean(p['person']):>12}"
        )
    allr = [x for p in per.values() for x in p["recall"]]
    all1 = [x for p in per.values() for x in p["one"]]
    allp = [x for p in per.values() for x in p["p10"]]
    allo = [x for p in per.values() for x in p["order"]]
    st, ot = res["search_t"], res["oracle_t"]
    s50, s95, o50 = _pct(st, 50) * 1000, _pct(st, 95) * 1000, _pct(ot, 50) * 1000
    print(
        f"overall       {len(allr):>3} {_mean(allr):>9} {_mean(all1):>9} {_mean(allp):>6} {_mean(allo):>11}   "
        f"(queries failing exact-first: {sum(1 for x in allo if x < 1)})"
    )
    print(
        f"search in process: p50 {s50:.2f} ms  p95 {s95:.2f} ms  max {max(st) * 1000:.2f} ms · "
        f"oracle (plain scan of {res['n_docs']} records): p50 {o50:.2f} ms → search is {o50 / s50:.1f}x the oracle's speed at p50"
    )
    if verbose:
        for cls, lines in res["misses"].items():
            for line in lines[:verbose]:
                print(f"  [{cls}] {line}")
    return {"recall": statistics.fmean(allr), "p10": statistics.fmean(allp), "order": statistics.fmean(allo), "p95_ms": s95}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.search_oracle", description=__doc__.splitlines()[0])
    p.add_argument("--dir", default="/tmp/search-oracle", help="scratch folder (emptied unless --keep)")
    p.add_argument("--records", type=int, default=2050)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="reuse the archive already generated in --dir")
    p.add_argument("--repeat", type=int, default=3, help="time each search this many times, keep the fastest")
    p.add_argument("-v", "--verbose", type=int, default=0, help="print up to N failing queries per class")
    a = p.parse_args(argv)
    config = Path(a.dir) / "config.yaml"
    root = Path(a.dir) / "archive"
    if not (a.keep and root.is_dir()):
        config = fresh_config(a.dir, CONFIG)
        root = generate(config, a.records)
    cfg = load_config(str(config), root=str(root))
    docs = load_docs(root)
    queries = make_queries(docs, a.seed)
    print(f"{len(docs)} records in {root}, {len(queries)} queries (seed {a.seed})")
    with open_index(cfg) as idx:
        res = evaluate(docs, idx, queries, a.repeat)
    res["n_docs"] = len(docs)
    report(res, a.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
