"""A deterministic, realistic archive for benchmarks and for tests that need a crowded tree.

`python -m bench.generate --records N --root PATH [--seed S] [--config CONFIG]`

Records are written straight into the real on-disk layout (folder names from the config's
templates, logs made with `record.new_log` + `dump_yaml`, a consistent `registry.yaml`) without
the workflow's locks and fsyncs, so 100,000 records take minutes, not hours. What makes it
realistic for search: Persian and Latin company names sharing words, Arabic ي/ك typed in some
logs, ZWNJ written as ZWNJ, space or nothing, phones in every written form and digit script,
3–30 events following the stage rules, 0–20 small files, contracts and invoices with tax IDs,
and some records archived.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from archivist import allocation, store
from archivist.config import Config, load_config
from archivist.dates import year_of
from archivist.invoices import make_tax_id
from archivist.record import LOG_NAME, Record, dump_yaml, new_log

ZWNJ = "\u200c"
DEFAULT_NOW = "2026-11-23T10:00:00+03:30"

PREFIXES_FA = ["شرکت", "گروه صنعتی", "مهندسی", "تولیدی", "بازرگانی", "صنایع", "کارخانه", "موسسه", ""]
WORDS_FA = [
    "پارس",
    "نمونه",
    "آریا",
    "سپاهان",
    "البرز",
    "کیمیا",
    "فولاد",
    "نوین",
    "تجارت",
    "کاوش",
    "پیشگامان",
    "رایان",
    "دماوند",
    "خلیج فارس",
    "زاگرس",
    "مهر",
    "آسیا",
    "ایران",
    "سپید",
    "پویا",
    "نیک",
    "آفتاب",
    "کاشی",
    "سرام",
    "پلاستیک",
    "شیمی",
    "دارو",
    "غذایی",
    "لبنیات",
    "نساجی",
    "الکترونیک",
    "ماشین",
    "تبریز",
    "شیراز",
    "اصفهان",
    "مشهد",
    "کرمان",
    "گیلان",
    "آذر",
    "توس",
    "هامون",
    "ارس",
    "کارون",
    "دانش\u200cبنیان",
    "به\u200cسازان",
    "ره\u200cآورد",
    "نو\u200cآوران",
    "هم\u200cگام",
    "پیش\u200cرو",
    "سازه",
    "صنعت",
    "فن\u200cآوری",
    "تدبیر",
    "اندیشه",
    "توسعه",
    "پایدار",
    "سبز",
    "طلایی",
    "ستاره",
]
SUFFIXES_FA = ["", "", "", "سهامی خاص", "تعاونی", "و شرکا", "گستر", "ساز", "پرداز", "نگار"]
WORDS_EN = [
    "Pars",
    "Aria",
    "Kimia",
    "Novin",
    "Sepahan",
    "Alborz",
    "Damavand",
    "Zagros",
    "Persia",
    "Asia",
    "Steel",
    "Pharma",
    "Food",
    "Dairy",
    "Textile",
    "Electric",
    "Plastic",
    "Chem",
    "Tile",
    "Machine",
    "Tech",
    "Trading",
    "Industrial",
    "Green",
    "Golden",
    "Star",
    "Mehr",
    "Pouya",
    "Nik",
    "Sepid",
]
SUFFIXES_EN = ["Co", "Co.", "Group", "Industries", "Ltd", "Engineering", "", ""]
FIRST_FA = [
    "علی",
    "محمد",
    "رضا",
    "حسین",
    "مریم",
    "زهرا",
    "فاطمه",
    "سارا",
    "مهدی",
    "نرگس",
    "کاظم",
    "یاسر",
    "یگانه",
    "کیوان",
    "شیوا",
    "امیر",
    "نیلوفر",
    "پریسا",
    "بهرام",
    "کوروش",
]
LAST_FA = [
    "احمدی",
    "کریمی",
    "محمدی",
    "رضایی",
    "حسینی",
    "موسوی",
    "کاظمی",
    "یزدانی",
    "کیانی",
    "نیک\u200cنام",
    "شکوهی",
    "طاهری",
    "جعفری",
    "صادقی",
    "یوسفی",
    "ملکی",
    "بابایی",
    "کرمانی",
]
MESSENGERS = ["", "", "telegram", "whatsapp", "eitaa", "bale"]
DOMAINS = ["gmail.com", "yahoo.com", "chmail.ir", "company.ir", "mail.ir"]
REQUESTS = [
    "پیش\u200cفاکتور",
    "نمونه کار",
    "price quote",
    "portfolio samples",
    "زمان\u200cبندی ممیزی",
    "بازدید کارخانه",
    "catalogue",
    "تخفیف",
    "مدارک ثبت شرکت",
]
NOTES = [
    "تماس گرفته شد، پیگیری هفته بعد",
    "پیش\u200cفاکتور ارسال شد",
    "مدیر عامل در سفر است",
    "درخواست کاهش قیمت دارند",
    "called back, waiting for the board",
    "مدارک ناقص است",
    "نامه رسمی دریافت شد",
    "قرار بازدید گذاشته شد",
    "ممیزی مرحله اول انجام شد",
    "نیاز به اصلاح مستندات",
    "جلسه حضوری در دفتر",
    "sent the portfolio by email",
    "منتظر تایید هیئت مدیره",
    "شماره تماس جدید گرفته شد",
    "گواهی صادر شد",
    "پرداخت قسط اول",
    "کارشناس فنی تعیین شد",
    "آموزش کارکنان برگزار شد",
]
FILE_NAMES = [
    "{code} قرارداد.pdf",
    "{code}_quote.pdf",
    "پیش\u200cفاکتور.pdf",
    "گواهینامه.pdf",
    "photo {n}.jpg",
    "scan_{n}.png",
    "technical file {n}.zip",
    "نامه درخواست.docx",
    "certificate {n}.pdf",
    "فاکتور {n}.pdf",
    "audit report.docx",
    "لیست قیمت.xlsx",
    "{code} invoice {n}.pdf",
    "کاتالوگ محصولات.pdf",
]

APPLICANT_WEIGHTS = {"new": 8, "following": 30, "declined": 10, "crm-done": 4, "archived": 10}
CASE_WEIGHTS = {"open": 6, "contracted": 8, "in-service": 14, "cleared": 4, "crm-done": 4, "archived": 12}
# how long ago a record in this final stage was opened (days, min..max)
AGE_DAYS = {
    "new": (0, 3),
    "following": (1, 90),
    "declined": (10, 500),
    "crm-done": (20, 700),
    "archived": (60, 1100),
    "open": (3, 60),
    "contracted": (10, 150),
    "in-service": (20, 400),
    "cleared": (30, 500),
}
APPLICANT_PATH = ["new", "following", "declined", "crm-done", "archived"]
CASE_PATH = ["new", "following", "open", "contracted", "in-service", "cleared", "crm-done", "archived"]
MILESTONE = {
    "new": "registered",
    "following": "call",
    "declined": "declined",
    "crm-done": "crm",
    "archived": "archived",
    "open": "converted",
    "contracted": "contract",
    "in-service": "service",
    "cleared": "cleared",
}
FILLER = {
    "new": ["note", "request", "followup"],
    "following": ["call", "call", "note", "request", "quote", "followup"],
    "declined": ["note"],
    "crm-done": ["note"],
    "archived": [],
    "open": ["note", "followup", "call"],
    "contracted": ["note", "invoice", "followup"],
    "in-service": ["service", "qc", "note", "invoice", "followup"],
    "cleared": ["qc", "note", "invoice"],
}


@dataclass
class Counters:
    """Numbers issued so far: what registry.yaml must say at the end."""

    case: dict[str, int] = field(default_factory=dict)
    contract: dict[str, int] = field(default_factory=dict)
    invoice: dict[str, int] = field(default_factory=dict)

    def next(self, kind: str, key: str) -> int:
        table = getattr(self, kind)
        table[key] = table.get(key, 0) + 1
        return table[key]


class Generator:
    """Builds records one by one from a seeded RNG; `record(i)` is pure apart from the counters."""

    def __init__(self, cfg: Config, seed: int, now: datetime, records: int) -> None:
        self.cfg = cfg
        self.rng = random.Random(seed)
        self.memory_id = "A1B2C3"  # the tax authority's ID for the company's invoicing memory
        self.tax_serial = 0
        self.now = now
        self.tz = ZoneInfo(cfg.timezone)
        self.staff = sorted(cfg.staff)
        self.prefixes = sorted(cfg.services)
        self.counters = Counters()
        self.case_capacity = sum(allocation.case_range(p)[1] - allocation.case_range(p)[0] + 1 for p in self.prefixes)
        self.case_share = min(0.35, 0.9 * self.case_capacity / max(records, 1))
        self.companies: list[str] = []

    # -- names ----------------------------------------------------------------------------------
    def company(self) -> tuple[str, str]:
        """(company as typed in the log, a Latin slug for the email)."""
        r = self.rng
        if self.companies and r.random() < 0.04:  # a returning company registers again
            name = r.choice(self.companies)
            return name, "info"
        if r.random() < 0.25:
            words = r.sample(WORDS_EN, r.randint(1, 3))
            name = " ".join(w for w in [*words, r.choice(SUFFIXES_EN)] if w)
            slug = words[0].lower()
        else:
            words = r.sample(WORDS_FA, r.randint(1, 3))
            name = " ".join(w for w in [r.choice(PREFIXES_FA), *words, r.choice(SUFFIXES_FA)] if w)
            slug = r.choice(WORDS_EN).lower()
            roll = r.random()
            if roll < 0.08:  # typed on an Arabic keyboard
                name = name.replace("ی", "ي").replace("ک", "ك")
            elif roll < 0.14:
                name = name.replace(ZWNJ, " ")
            elif roll < 0.18:
                name = name.replace(ZWNJ, "")
        self.companies.append(name)
        return name, slug

    def person(self) -> str:
        return f"{self.rng.choice(FIRST_FA)} {self.rng.choice(LAST_FA)}"

    def phone(self, mobile: bool) -> str:
        r = self.rng
        if mobile:
            digits = "09" + r.choice(["12", "13", "19", "35", "36", "01", "02", "90"]) + f"{r.randrange(10**7):07d}"
            form = r.randrange(6)
            if form == 0:
                out = digits
            elif form == 1:
                out = f"{digits[:4]} {digits[4:7]} {digits[7:]}"
            elif form == 2:
                out = f"+98 {digits[1:4]} {digits[4:7]} {digits[7:]}"
            elif form == 3:
                out = "0098" + digits[1:]
            elif form == 4:
                out = f"{digits[:4]}-{digits[4:]}"
            else:
                out = digits
            if r.random() < 0.15:
                out = out.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
            return out
        area = r.choice(["021", "031", "041", "051", "071", "026"])
        return f"{area}-{r.randrange(10**7, 10**8)}"

    def tax_id(self, at: datetime) -> str:
        """A valid tax ID (check digit and all), so traceability benchmarks take the real path."""
        self.tax_serial += 1
        return make_tax_id(self.memory_id, at, self.tax_serial)

    # -- one record -------------------------------------------------------------------------------
    def final_status(self) -> tuple[str, bool]:
        r = self.rng
        is_case = r.random() < self.case_share and self._case_room()
        weights = CASE_WEIGHTS if is_case else APPLICANT_WEIGHTS
        return r.choices(list(weights), weights=list(weights.values()))[0], is_case

    def _case_room(self) -> bool:
        return any(
            self.counters.case.get(p, allocation.case_range(p)[0] - 1) < allocation.case_range(p)[1] for p in self.prefixes
        )

    def _case_code(self) -> str:
        free = [
            p for p in self.prefixes if self.counters.case.get(p, allocation.case_range(p)[0] - 1) < allocation.case_range(p)[1]
        ]
        prefix = self.rng.choice(free)
        first = allocation.case_range(prefix)[0]
        n = self.counters.case.get(prefix, first - 1) + 1
        self.counters.case[prefix] = n
        return f"{n:04d}"

    def record(self, lead_no: int) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
        """(log mapping, [(relative file name, bytes)]) for applicant number `lead_no`."""
        r = self.rng
        status, is_case = self.final_status()
        staff = r.choice(self.staff)
        company, slug = self.company()
        contact = {
            "person": self.person(),
            "consultant": self.person() if r.random() < 0.3 else "",
            "mobile": self.phone(True) if r.random() < 0.9 else "",
            "phone": self.phone(False) if r.random() < 0.5 else "",
            "messenger": r.choice(MESSENGERS),
            "email": f"{slug}{lead_no}@{r.choice(DOMAINS)}" if r.random() < 0.6 else "",
        }
        services = [self.cfg.services[p] for p in r.sample(self.prefixes, r.randint(1, min(2, len(self.prefixes))))]
        requests = r.sample(REQUESTS, r.randint(0, 3))
        lead = f"{lead_no:05d}"
        data = new_log(lead, staff, company, contact, services, requests)
        data["status"] = status

        path = CASE_PATH if is_case else APPLICANT_PATH
        stages = path[: path.index(status) + 1]
        lo, hi = AGE_DAYS["new" if status == "new" else status]
        opened = self.now - timedelta(days=r.uniform(lo, hi), minutes=r.randrange(600))
        n_events = max(r.randint(3, 30), len(stages))
        fillers = n_events - len(stages)
        # fillers go into the gaps after each milestone, only where that stage allows them
        gaps = [s for s in stages if FILLER[s]] or [stages[0]]
        plan: list[tuple[str, str]] = []  # (stage the event happens in, kind)
        extra_per_stage = {s: 0 for s in stages}
        for _ in range(fillers):
            extra_per_stage[r.choice(gaps)] += 1
        for s in stages:
            plan.append((s, MILESTONE[s]))
            for _ in range(extra_per_stage[s]):
                plan.append((s, r.choice(FILLER[s] or ["note"])))
        end = (
            self.now if status not in ("archived", "crm-done", "declined") else opened + (self.now - opened) * r.uniform(0.3, 0.9)
        )
        span = max((end - opened).total_seconds(), 60.0 * len(plan))
        offsets = sorted(r.uniform(0, span) for _ in range(len(plan) - 1))
        times = [opened] + [opened + timedelta(seconds=o) for o in offsets]
        # office hours: squeeze each day's 24 h into 08:00–17:59, keeping the order
        times = [t.astimezone(self.tz) for t in times]
        times = [t.replace(hour=8 + t.hour * 10 // 24, second=0, microsecond=0) for t in times]

        events: list[dict[str, Any]] = []
        invoices: list[dict[str, Any]] = []
        files: list[tuple[str, bytes]] = []
        case: str | None = None
        contract: str | None = None
        for (stage, kind), at in zip(plan, times, strict=True):
            by = staff if r.random() < 0.85 else r.choice(self.staff)
            ev: dict[str, Any] = {"at": at, "by": by, "kind": kind, "note": ""}
            if (
                kind == MILESTONE[stage]
                and (stage != "following" or kind == "call")
                and not any(e.get("to") == stage for e in events)
            ):
                ev["to"] = stage
            if kind in ("call", "note", "service", "qc", "quote") and r.random() < 0.8:
                ev["note"] = r.choice(NOTES)
            elif kind == "request":
                ev["note"] = r.choice(REQUESTS)
            if kind == "followup":
                ev["due"] = at + timedelta(days=r.randint(1, 14))
            if kind == "converted":
                case = self._case_code()
                ev["case"] = case
                ev["service"] = self.cfg.services[case[0]] if case[0] in self.cfg.services else services[0]
            if kind == "contract":
                year = str(year_of(at, self.cfg.calendar))
                contract = self.cfg.numbers.contract.format(year=int(year), seq=self.counters.next("contract", year))
                ev["number"] = contract
            if kind == "invoice":
                year = str(year_of(at, self.cfg.calendar))
                number = self.cfg.numbers.invoice.format(year=int(year), seq=self.counters.next("invoice", year))
                invoices.append(
                    {
                        "number": number,
                        "tax_id": self.tax_id(at) if r.random() < 0.7 else None,
                        "date": at,
                        "amount": r.randrange(5, 900) * 1_000_000,
                        "note": "",
                    }
                )
                ev["number"] = number
            events.append(ev)
        data["case"] = case
        data["contract"] = contract
        data["invoices"] = invoices
        data["events"] = events
        if case and ev_service(services, self.cfg, case):
            data["services"] = services + [self.cfg.services[case[0]]]
        if status in ("new", "following", "open", "contracted", "in-service", "cleared"):
            if status == "new":
                due = times[0] + timedelta(hours=self.cfg.followup.first_call_hours)
            else:
                due = self.now + timedelta(days=r.uniform(-15, 20))
            data["next_followup"] = due.astimezone(self.tz).replace(second=0, microsecond=0)
        if lead_no > 20 and r.random() < 0.02:
            data["related"] = [f"{r.randint(1, lead_no - 1):05d}"]

        code = case or lead
        for k in range(self._file_count()):
            tmpl = r.choice(FILE_NAMES)
            name = tmpl.format(code=code, n=k + 1)
            body = f"{name}\n".encode() + bytes(r.randrange(256) for _ in range(r.randint(20, 400)))
            if r.random() < 0.05:
                name = f"scans/{name}"
            files.append((name, body))
        return data, files

    def _file_count(self) -> int:
        r = self.rng.random()
        if r < 0.2:
            return 0
        if r < 0.8:
            return self.rng.randint(1, 6)
        return self.rng.randint(7, 20)


def ev_service(services: list[str], cfg: Config, case: str) -> bool:
    """Whether conversion adds the case's service to the requested ones (as workflow.convert does)."""
    name = cfg.services.get(case[0])
    return bool(name) and name not in services


def write_record(cfg: Config, data: dict[str, Any], files: list[tuple[str, bytes]]) -> Path:
    """Write one record straight into its home folder (no locks, no fsync: a fresh bench tree)."""
    folder = store.home_of(cfg, Record(data=data))
    os.makedirs(folder)
    with open(folder / LOG_NAME, "wb") as f:
        f.write(dump_yaml(data))
    seen: set[str] = set()
    for name, body in files:
        if name in seen:
            continue
        seen.add(name)
        p = folder / name
        if "/" in name:
            p.parent.mkdir(exist_ok=True)
        with open(p, "wb") as f:
            f.write(body)
    return folder


def break_log(folder: Path, rng: random.Random) -> None:
    """Make a log malformed the way hand edits do (bad indentation, unquoted code, bad stage)."""
    path = folder / LOG_NAME
    text = path.read_text(encoding="utf-8")
    choice = rng.randrange(3)
    if choice == 0:
        text = text.replace("\nstaff:", "\n  staff:", 1)
    elif choice == 1:
        text = text.replace("status: ", "status: finished-", 1)
    else:
        text = text.replace("events:\n", "events:\n\t- broken\n", 1)
    path.write_text(text, encoding="utf-8")


def generate(
    cfg: Config, records: int, seed: int = 1, now: datetime | None = None, broken: float = 0.0, progress: bool = False
) -> dict[str, Any]:
    """Write `records` records under cfg.root; refuses a root that already holds records."""
    if records > 99999:
        raise SystemExit(f"at most 99999 records fit in 5-digit applicant codes (asked for {records})")
    layout = store.layout_of(cfg)
    for _area, _folder in store.iter_record_folders(layout):
        raise SystemExit(f"{cfg.root} already holds records; generate into an empty root")
    layout.ensure()
    now = now or datetime.fromisoformat(DEFAULT_NOW)
    gen = Generator(cfg, seed, now, records)
    broken_rng = random.Random(seed + 1)
    started = time.monotonic()
    n_files = 0
    for i in range(1, records + 1):
        data, files = gen.record(i)
        folder = write_record(cfg, data, files)
        n_files += len(files)
        if broken and broken_rng.random() < broken:
            break_log(folder, broken_rng)
        if progress and i % 5000 == 0:
            print(f"  {i}/{records} records ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    reg = allocation.Registry(
        applicant=records,
        case=dict(sorted(gen.counters.case.items())),
        contract=dict(sorted(gen.counters.contract.items())),
        invoice=dict(sorted(gen.counters.invoice.items())),
    )
    allocation.write_registry(layout, reg)
    return {
        "records": records,
        "files": n_files,
        "seconds": round(time.monotonic() - started, 1),
        "cases": sum(n - allocation.case_range(p)[0] + 1 for p, n in gen.counters.case.items()),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, required=True)
    p.add_argument("--root", required=True, help="archive root to create (must not hold records yet)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--config", help="config.yaml for staff, services and templates (default: built-in)")
    p.add_argument("--now", default=DEFAULT_NOW, help=f"the moment the archive is 'as of' (default {DEFAULT_NOW})")
    p.add_argument("--broken", type=float, default=0.0, help="fraction of logs to leave malformed (default 0)")
    args = p.parse_args(argv)
    cfg = load_config(args.config, root=args.root)
    summary = generate(cfg, args.records, args.seed, datetime.fromisoformat(args.now), args.broken, progress=True)
    print(
        f"generated {summary['records']} records ({summary['cases']} cases, {summary['files']} files) "
        f"in {cfg.root} in {summary['seconds']} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
