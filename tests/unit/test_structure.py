"""The code's structure, read with `ast` alone (no Django): no import cycle between the project's modules,
the dependency picture of DESIGN.md between its packages, and short modules and functions.

Imports inside functions count like module-level ones: a deferred import hides a cycle, it does not
remove it; and one is allowed only with a comment that says why. Known offenders carry a strict xfail each, so the mark must go when the code is fixed."""
from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOT_PROJECT_CODE = {"tests", "bench", "migrations", "static", "staticfiles", "templates", "var", "node_modules"}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

# Which of our packages each package may import (core and, for the apps, nothing else). Every app may use
# core; only config imports the apps; launcher is tooling that no app imports. backups copies and restores
# the whole platform's state, so it reads the apps' rows and paths: it sits above them, and nothing but
# config imports it.
MAY_IMPORT: dict[str, set[str]] = {
    "core": set(),
    "accounts": {"core"},
    "hosting": {"core", "accounts"},
    "proxy": {"core"},
    "sites": {"core", "accounts", "hosting", "proxy"},
    "support": {"core", "accounts", "sites"},
    "backups": {"core", "accounts", "hosting", "proxy", "sites"},
    "staff": {"core", "accounts", "hosting", "proxy", "sites", "support", "backups"},
    "config": {"core", "accounts", "hosting", "proxy", "sites", "support", "backups", "staff"},
    "launcher": {"core", "accounts", "hosting", "proxy", "sites", "support", "backups", "config", "staff"},
}

# Today's offenders, each fixed by a merge in flight: drop the mark when its test passes (strict xfail fails then).
KNOWN_CYCLES: dict[str, str] = {}
KNOWN_WRONG_IMPORTS: dict[tuple[str, str], str] = {}
KNOWN_LONG_MODULES: dict[str, str] = {}
KNOWN_LONG_FUNCTIONS: dict[str, str] = {}
KNOWN_DEFERRED_IMPORTS: dict[str, str] = {}


def known(offenders: dict, key, reason_prefix: str = "known offender"):
    """The test case for `key`, marked as a strict expected failure when it is a known offender."""
    if key not in offenders:
        return pytest.param(key, id=_case_id(key))
    mark = pytest.mark.xfail(strict=True, reason=f"{reason_prefix}: {offenders[key]}")
    return pytest.param(key, marks=mark, id=_case_id(key))


def _case_id(key) -> str:
    return key if isinstance(key, str) else "-imports-".join(key)


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the project's packages."""
    modules = {}
    for package in sorted(p for p in root.iterdir() if (p / "__init__.py").is_file()):
        if package.name in NOT_PROJECT_CODE:
            continue
        for path in package.rglob("*.py"):
            if NOT_PROJECT_CODE.intersection(path.relative_to(root).parts):
                continue
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def imported_names(tree: ast.Module, module: str, is_package: bool) -> set[str]:
    """Every dotted name the module imports, at any depth (function bodies included), made absolute."""
    package = module if is_package else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the project's modules it imports (a name resolves to its longest known module prefix)."""
    graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set()
        for name in imported_names(tree, module, path.name == "__init__.py"):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


@cache
def project() -> tuple[dict[str, Path], dict[str, set[str]]]:
    modules = module_files()
    return modules, import_graph(modules)


def packages() -> list[str]:
    return sorted({name.partition(".")[0] for name in module_files()})


def long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{node.name} (line {node.lineno}): {node.end_lineno - node.lineno + 1} lines"
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def forbidden_pairs() -> list[tuple[str, str]]:
    return [(importer, imported) for importer in MAY_IMPORT for imported in MAY_IMPORT
            if imported != importer and imported not in MAY_IMPORT[importer]]


def test_it_places_every_package_in_the_dependency_picture():
    assert set(packages()) == set(MAY_IMPORT), "a new package needs its line in MAY_IMPORT (and DESIGN.md)"


@pytest.mark.parametrize("package", [known(KNOWN_CYCLES, p) for p in sorted(MAY_IMPORT)])
def test_it_has_no_import_cycle_through(package):
    _, graph = project()
    through = [c for c in cycles(graph) if any(m.partition(".")[0] == package for m in c)]
    assert not through, f"import cycles through {package}: {through}"


@pytest.mark.parametrize("pair", [known(KNOWN_WRONG_IMPORTS, pair) for pair in forbidden_pairs()])
def test_it_keeps_the_dependency_picture(pair):
    importer, imported = pair
    _, graph = project()
    wrong = sorted(f"{m} -> {t}" for m, targets in graph.items() if m.partition(".")[0] == importer
                   for t in targets if t.partition(".")[0] == imported)
    assert not wrong, f"{importer} may not import {imported}: {wrong}"


@pytest.mark.parametrize("module", [known(KNOWN_LONG_MODULES, m) for m in sorted(module_files())])
def test_it_keeps_the_module_short(module):
    lines = line_count(project()[0][module])
    assert lines <= MAX_MODULE_LINES, f"{module} has {lines} lines (at most {MAX_MODULE_LINES})"


@pytest.mark.parametrize("module", [known(KNOWN_LONG_FUNCTIONS, m) for m in sorted(module_files())])
def test_it_keeps_the_functions_short(module):
    assert not long_functions(project()[0][module]), f"{module}: functions over {MAX_FUNCTION_LINES} lines"


def deferred_imports(path: Path) -> list[str]:
    """Imports inside functions without a comment (on the line or the one above) that says why."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for function in ast.walk(ast.parse(source)):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    said_why = "#" in lines[node.lineno - 1] or lines[node.lineno - 2].strip().startswith("#")
                    if not said_why:
                        found.append(f"line {node.lineno}: {lines[node.lineno - 1].strip()}")
    return found


@pytest.mark.parametrize("package", [known(KNOWN_DEFERRED_IMPORTS, p) for p in sorted(MAY_IMPORT)])
def test_it_imports_at_module_level(package):
    modules, _ = project()
    deferred = {m: found for m, path in modules.items() if m.partition(".")[0] == package
                for found in [deferred_imports(path)] if found}
    assert not deferred, f"imports inside functions, with no comment saying why: {deferred}"


def test_it_finds_a_cycle_through_a_deferred_import(tmp_path):
    # The checks above can fail: two modules importing each other, one of them inside a function.
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from pkg import b\n")
    (tmp_path / "pkg" / "b.py").write_text("def late():\n    from . import a\n")
    (tmp_path / "pkg" / "c.py").write_text("import pkg.a\n")
    graph = import_graph(module_files(tmp_path))
    assert cycles(graph) == [["pkg.a", "pkg.b"]]
