"""The layering holds in the code itself: no import cycle among archivist's modules, counting the
imports hidden inside functions (they are how an upward import used to dodge Python's cycle error).

Read from the source (ast), not from an imported interpreter state, so an import that only runs in
some branch counts as much as one at the top. The package-level rule (which layer may import which)
is the import-linter contract in pyproject.toml, run by .ci/run.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "archivist"


def modules() -> dict[str, tuple[Path, bool]]:
    """Dotted module name → (file, is a package __init__)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts.pop()
        out[".".join(parts)] = (path, is_pkg)
    return out


def import_graph() -> dict[str, set[str]]:
    """Module → the archivist modules it imports anywhere in its body (functions included)."""
    mods = modules()
    graph: dict[str, set[str]] = {name: set() for name in mods}
    for name, (path, is_pkg) in mods.items():
        here = name.split(".") if is_pkg else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    targets.append(sub if sub in mods else module)
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                while target and target not in mods:  # `import archivist.index.hook as h` → the module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each as a readable path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_among_archivist_modules() -> None:
    graph = import_graph()
    assert len(graph) > 50 and "archivist.store" in graph["archivist.workflow"]
    found = cycles(graph)
    detail = "; ".join(" ↔ ".join(group) for group in found)
    assert not found, f"import cycle(s), counting imports inside functions: {detail}"


def test_the_cycle_check_sees_an_import_hidden_in_a_function(tmp_path: Path) -> None:
    """The check would catch the old circle: codes imported invoices at the top, invoices imported
    codes inside a function."""
    graph = {"archivist.codes": {"archivist.invoices"}, "archivist.invoices": {"archivist.codes"}, "archivist.x": set()}
    assert cycles(graph) == [["archivist.codes", "archivist.invoices"]]
    source = "def tax_id_in_use():\n    from .codes import number_in_case_logs\n"
    node = ast.parse(source).body[0].body[0]  # type: ignore[attr-defined]
    assert isinstance(node, ast.ImportFrom) and node.level == 1 and node.module == "codes"
