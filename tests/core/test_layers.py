"""The apps are layered (docs/DESIGN.md, "Layers"; issue 10). import-linter checks the layer order in
``./scripts/test``; these tests read the source with ``ast`` and check what it cannot see the same way:

- an import inside a function (or under ``if TYPE_CHECKING``) is an import all the same: none of them may
  close a cycle between two apps;
- an import of ``eco12369`` inside a function is allowed only with a ``# lazy: <why>`` comment (on the
  import, or on the comment line heading its block of imports), never to dodge a cycle.

The checkers are plain functions, so the tests below also show them catching a planted mistake."""

from __future__ import annotations

import ast
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "eco12369"
LAZY = re.compile(r"#\s*lazy:\s*\S")


@dataclass(frozen=True)
class Import:
    path: str
    line: int
    target: str  # the absolute module imported (for ``from x import y``: x)
    in_function: bool
    lazy_reason: bool


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _has_lazy_reason(lines: list[str], node: ast.stmt) -> bool:
    """``# lazy:`` on one of the statement's lines, or on a comment above it within its block of imports."""
    end = node.end_lineno or node.lineno
    if any(LAZY.search(lines[i - 1]) for i in range(node.lineno, end + 1)):
        return True
    i = node.lineno - 1
    while i >= 1:
        text = lines[i - 1].strip()
        if text.startswith("#"):
            if LAZY.search(text):
                return True
        elif not (
            text.startswith(("from ", "import ")) or text == "" or text.endswith(")") or text.endswith(",")
        ):
            return False
        i -= 1
    return False


def imports_of(source: str, module: str, *, path: str = "", is_package: bool = False) -> Iterator[Import]:
    tree = ast.parse(source)
    lines = source.splitlines()
    nested: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            nested.update(id(n) for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            targets = [_absolute(node, module, is_package)]
        else:
            continue
        for target in targets:
            yield Import(path, node.lineno, target, id(node) in nested, _has_lazy_reason(lines, node))


def package_imports(root: Path = PACKAGE) -> list[Import]:
    found: list[Import] = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        module = _module_name(path, root)
        found += imports_of(
            path.read_text(encoding="utf-8"),
            module,
            path=str(path.relative_to(root.parent)),
            is_package=path.name == "__init__.py",
        )
    return found


def app_of(module: str, package: str = "eco12369") -> str | None:
    """``eco12369.cases.services`` → ``cases``; a core module (``eco12369.crypto``) is its own node."""
    parts = module.split(".")
    if parts[0] != package or len(parts) < 2:
        return None
    return parts[1]


def unlazy_imports(imports: list[Import], package: str = "eco12369") -> list[str]:
    return [
        f"{i.path}:{i.line} imports {i.target} inside a function without a '# lazy: <why>' comment"
        for i in imports
        if i.in_function and (i.target == package or i.target.startswith(package + ".")) and not i.lazy_reason
    ]


def app_graph(imports: list[Import]) -> dict[str, dict[str, list[str]]]:
    """app → imported app → where (``path:line``), every import counted (module level, in functions, typing)."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for i in imports:
        source = app_of(_module_name(PACKAGE.parent / i.path, PACKAGE)) if i.path else None
        target = app_of(i.target)
        if source and target and source != target:
            graph[source][target].append(f"{i.path}:{i.line}")
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected components with more than one app (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


# ------------------------------------------------------------------------------------------ the tests
def test_no_function_level_import_of_the_package_without_a_lazy_reason() -> None:
    assert unlazy_imports(package_imports()) == []


def test_no_import_cycle_between_apps_counting_imports_inside_functions() -> None:
    graph = app_graph(package_imports())
    found = cycles(graph)
    details = [
        f"{a} -> {b}: {', '.join(graph[a][b][:3])}"
        for component in found
        for a in component
        for b in component
        if b in graph.get(a, {})
    ]
    assert found == [], "\n".join(details)


def test_the_checkers_catch_a_lazy_import_and_a_cycle() -> None:
    source = """
from eco12369.cases.models import Case

def f():
    from eco12369.wechat.services import outbox_write
    return outbox_write

def g():
    # lazy: a heavy module, only for the PDF export
    from eco12369.stats import exports
    import json
    from eco12369.stats import figures  # lazy: ditto
    return exports, figures, json
"""
    found = list(imports_of(source, "eco12369.cases.services", path="eco12369/cases/services.py"))
    assert unlazy_imports(found) == [
        "eco12369/cases/services.py:5 imports eco12369.wechat.services inside a function without a "
        "'# lazy: <why>' comment"
    ]
    wechat = list(
        imports_of("from eco12369.cases import services\n", "eco12369.wechat.x", path="eco12369/wechat/x.py")
    )
    assert cycles(app_graph(found + wechat)) == [["cases", "wechat"]]
    assert cycles(app_graph(wechat)) == []


@pytest.mark.parametrize(
    ("module", "app"),
    [("eco12369.cases.services.intake", "cases"), ("eco12369.crypto", "crypto"), ("django.db", None)],
)
def test_app_of(module: str, app: str | None) -> None:
    assert app_of(module) == app


def design_layers(text: str) -> list[set[str]]:
    """The layers of the picture in docs/DESIGN.md §5.1, top to bottom: each row's names (before the
    description), rows split by the rules of box-drawing characters."""
    section = text[text.index("### 5.1 Layers") :]
    start = section.index("```\n") + 4
    block = section[start : section.index("```", start)]
    layers: list[set[str]] = []
    for row in re.split(r"\n\s*─+\s*\n", block.strip("\n")):
        names = re.split(r"\s{2,}", row.strip().splitlines()[0].strip())[0]
        layers.append({n.strip() for n in names.split("|")})
    return layers


def test_the_design_picture_is_the_import_contract() -> None:
    """docs/DESIGN.md draws the layers that pyproject.toml's import-linter contract enforces, no more, no
    fewer, in the same order (a module added to the contract is added to the picture too)."""
    root = PACKAGE.parent
    contract = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    (layered,) = [c for c in contract["contracts"] if c["type"] == "layers"]
    enforced = [{n.strip() for n in layer.split("|")} for layer in layered["layers"]]
    assert design_layers((root / "docs" / "DESIGN.md").read_text(encoding="utf-8")) == enforced
