"""Allocation of applicant, case, contract and invoice numbers (SPEC §4).

`registry.yaml` remembers the last number issued so a deleted folder's code is never reissued;
the folders are checked too, so a lost or stale registry never causes reuse of a code on disk.
Both reads and the registry write happen under one inter-process lock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml

from .config import Config
from .dates import year_of
from .errors import ArchivistError, CodeExhausted, DuplicateNumber
from .naming import ascii_digits
from .record import LOG_NAME, dump_yaml
from .store import Layout, atomic_write, iter_record_folders, layout_of, lock


@dataclass
class Registry:
    applicant: int = 0
    case: dict[str, int] = field(default_factory=dict)
    contract: dict[str, int] = field(default_factory=dict)
    invoice: dict[str, int] = field(default_factory=dict)
    present: bool = True

    def to_yaml(self) -> bytes:
        head = b"# archivist registry: the last numbers issued. Never lower them by hand: codes are never reissued.\n"
        return head + dump_yaml(
            {"applicant": self.applicant, "case": self.case, "contract": self.contract, "invoice": self.invoice}
        )


def read_registry(layout: Layout) -> Registry:
    try:
        raw = layout.registry.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Registry(present=False)
    try:
        data = yaml.safe_load(raw) or {}
    except yaml.YAMLError as e:
        raise ArchivistError(f"{layout.registry} is not valid YAML ({e}); restore it from backup or fix it by hand") from None
    if not isinstance(data, dict):
        raise ArchivistError(f"{layout.registry} must be a mapping; restore it from backup")

    def counters(key: str) -> dict[str, int]:
        v = data.get(key) or {}
        return {str(k): int(n) for k, n in v.items()} if isinstance(v, dict) else {}

    return Registry(
        applicant=int(data.get("applicant") or 0),
        case=counters("case"),
        contract=counters("contract"),
        invoice=counters("invoice"),
    )


def write_registry(layout: Layout, reg: Registry) -> None:
    layout.root.mkdir(parents=True, exist_ok=True)
    atomic_write(layout.registry, reg.to_yaml())


# -- what is on disk -----------------------------------------------------------------------------

_LEAD_LINE = re.compile(rb"^lead:\s*['\"]?(\d{5})['\"]?\s*$", re.M)


def _names(cfg: Config, layout: Layout) -> Iterator[tuple[str, dict[str, str]]]:
    for area, folder in iter_record_folders(layout):
        tmpl = cfg.naming.case if area.endswith("customers") else cfg.naming.applicant
        parsed = tmpl.parse(folder.name)
        if parsed:
            yield area, parsed


def disk_high_applicant(cfg: Config, layout: Layout, deep: bool) -> int:
    """Highest applicant code on disk: from folder names, and from inside case logs when `deep`."""
    high = 0
    for _area, parsed in _names(cfg, layout):
        if "lead" in parsed:
            high = max(high, int(parsed["lead"]))
    if deep:
        for area, folder in iter_record_folders(layout):
            if area.endswith("customers"):
                for m in _LEAD_LINE.finditer(_read(folder)):
                    high = max(high, int(m.group(1)))
    return high


def disk_high_case(cfg: Config, layout: Layout, prefix: str) -> int:
    high = 0
    for _area, parsed in _names(cfg, layout):
        code = parsed.get("case")
        if code and code.startswith(prefix):
            high = max(high, int(code))
    return high


def _read(folder: Any) -> bytes:
    try:
        return (folder / LOG_NAME).read_bytes()
    except OSError:
        return b""


def numbers_on_disk(layout: Layout) -> tuple[set[str], set[str]]:
    """(contract numbers, invoice numbers) in every log; the slow path, used when the registry is
    lost or a number is typed by hand."""
    from .record import parse_record

    contracts: set[str] = set()
    invoices: set[str] = set()
    for _area, folder in iter_record_folders(layout):
        raw = _read(folder)
        if b"contract:" not in raw and b"number" not in raw:
            continue
        try:
            rec = parse_record(raw, folder / LOG_NAME, folder)
        except ArchivistError:
            continue
        if rec.contract:
            contracts.add(rec.contract)
        invoices.update(str(inv["number"]) for inv in rec.invoices)
    return contracts, invoices


# -- allocation ------------------------------------------------------------------------------------

def allocate_applicant_code(cfg: Config) -> str:
    layout = layout_of(cfg)
    with lock(layout, "registry"):
        reg = read_registry(layout)
        high = max(reg.applicant, disk_high_applicant(cfg, layout, deep=not reg.present))
        n = high + 1
        if n > 99999:
            raise CodeExhausted("all 5-digit applicant codes are used (99999 reached); the procedure needs a new code scheme")
        reg.applicant = n
        if not reg.present:
            _recover_numbers(cfg, layout, reg)
        write_registry(layout, reg)
    return f"{n:05d}"


def case_range(prefix: str) -> tuple[int, int]:
    """First and last case code of a service type: prefix "1" → 1001..1999."""
    width = 4 - len(prefix)
    base = int(prefix) * 10**width
    return base + 1, base + 10**width - 1


def allocate_case_code(cfg: Config, prefix: str) -> str:
    layout = layout_of(cfg)
    first, last = case_range(prefix)
    with lock(layout, "registry"):
        reg = read_registry(layout)
        high = max(reg.case.get(prefix, 0), disk_high_case(cfg, layout, prefix), first - 1)
        n = high + 1
        if n > last:
            raise CodeExhausted(
                f"all case codes for service {prefix} ({cfg.services[prefix]}) are used ({first}..{last}); "
                "add a new service prefix in config.yaml"
            )
        reg.case[prefix] = n
        if not reg.present:
            reg.applicant = max(reg.applicant, disk_high_applicant(cfg, layout, deep=True))
            _recover_numbers(cfg, layout, reg)
        write_registry(layout, reg)
    return f"{n:04d}"


def number_pattern(fmt: str) -> re.Pattern[str]:
    """A regex that reads year and serial back out of a configured number format."""
    out, pos = [], 0
    for m in re.finditer(r"\{(year|seq)(?::0?(\d+)d)?\}", fmt):
        out.append(re.escape(fmt[pos : m.start()]))
        if m.group(1) == "year":
            out.append(r"(?P<year>\d{4})")
        else:
            out.append(r"(?P<seq>\d{%s,})" % (m.group(2) or "1"))
        pos = m.end()
    out.append(re.escape(fmt[pos:]))
    return re.compile("^" + "".join(out) + "$")


def _recover_numbers(cfg: Config, layout: Layout, reg: Registry) -> None:
    """With the registry lost, rebuild the contract/invoice counters from every log on disk."""
    contracts, invoices = numbers_on_disk(layout)
    for kind, found in (("contract", contracts), ("invoice", invoices)):
        pat = number_pattern(getattr(cfg.numbers, kind))
        counters = getattr(reg, kind)
        for number in found:
            m = pat.match(number)
            if m:
                year = m.group("year")
                counters[year] = max(counters.get(year, 0), int(m.group("seq")))


def allocate_number(cfg: Config, kind: str, at: datetime, manual: str | None = None,
                    in_use: set[str] | None = None) -> str:
    """Next contract or invoice number, or register a hand-typed one after checking it is unused.

    `in_use` lets callers that already know every issued number (the index) skip the disk scan.
    """
    assert kind in ("contract", "invoice")
    layout = layout_of(cfg)
    fmt = getattr(cfg.numbers, kind)
    with lock(layout, "registry"):
        reg = read_registry(layout)
        if not reg.present:
            _recover_numbers(cfg, layout, reg)
            reg.applicant = max(reg.applicant, disk_high_applicant(cfg, layout, deep=True))
        counters = getattr(reg, kind)
        if manual is not None:
            number = ascii_digits(manual).strip()
            if not number:
                raise ArchivistError(f"the {kind} number is empty")
            if in_use is None:
                contracts, invoices = numbers_on_disk(layout)
                in_use = contracts if kind == "contract" else invoices
            if number in in_use:
                raise DuplicateNumber(f"{kind} number {number} is already used; check it with `archivist trace {number}`")
            m = number_pattern(fmt).match(number)
            if m:
                year = m.group("year")
                counters[year] = max(counters.get(year, 0), int(m.group("seq")))
        else:
            year = str(year_of(at, cfg.calendar))
            seq = counters.get(year, 0) + 1
            number = fmt.format(year=int(year), seq=seq)
            counters[year] = seq
        write_registry(layout, reg)
    return number
