"""The package's layout rules, read from the source (no imports run):

- no import cycle between the package's modules, counting imports inside functions
  (a cycle hidden in a function still couples the two modules; imports under
  `if TYPE_CHECKING:` are annotations only and are not counted);
- a module or name that starts with an underscore is private to its subpackage: nothing
  outside that subpackage imports it, and tests, benchmarks and scripts import public
  names only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "assistant"
OUTSIDE = ("tests", "benchmarks", "scripts")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


@dataclass(frozen=True)
class Edge:
    source: str  # importing module
    target: str  # imported module
    names: tuple[str, ...]  # names taken from it (empty for `import x`)
    line: int


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except those under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                yield from _imports(child)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _imports(node)


def edges_of(path: Path, name: str) -> list[Edge]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: list[Edge] = []
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [Edge(name, a.name, (), node.lineno) for a in node.names
                    if a.name.split(".")[0] == "assistant"]
            continue
        if node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = ".".join([*base, *([node.module] if node.module else [])])
        else:
            target = node.module or ""
        if target.split(".")[0] != "assistant":
            continue
        plain = []
        for a in node.names:  # `from pkg import submodule` imports the submodule
            if f"{target}.{a.name}" in MODULES:
                out.append(Edge(name, f"{target}.{a.name}", (), node.lineno))
            else:
                plain.append(a.name)
        if plain or not node.names:
            out.append(Edge(name, target, tuple(plain), node.lineno))
    return out


def all_edges(folders: tuple[str, ...] = ("assistant",)) -> list[Edge]:
    edges = []
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = module_name(path) if folder == "assistant" else str(path.relative_to(ROOT))
            edges += edges_of(path, name)
    return edges


def cycles(edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), plus self-loops."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for e in edges:
        if e.target in MODULES:
            graph[e.source].add(e.target)
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
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def owner(module: str) -> str:
    """The subpackage a private module or name belongs to: the package above the first
    underscore part (`assistant.batch._tasks` -> `assistant.batch`)."""
    parts = module.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return module if module in MODULES and MODULES[module].name == "__init__.py" \
        else module.rpartition(".")[0]


def is_private(module: str) -> bool:
    return any(p.startswith("_") and not p.startswith("__") for p in module.split("."))


def violations(edges: list[Edge], *, outside: bool) -> list[str]:
    bad = []
    for e in edges:
        private_names = [n for n in e.names if n.startswith("_") and not n.startswith("__")]
        where = f"{e.source}:{e.line}"
        if outside:
            if is_private(e.target) or private_names:
                bad.append(f"{where} imports {e.target} {private_names or ''}".rstrip())
            continue
        inside = e.source == owner(e.target) or e.source.startswith(owner(e.target) + ".")
        if is_private(e.target) and not inside:
            bad.append(f"{where} imports private module {e.target}")
        home = e.target if MODULES.get(e.target, Path()).name == "__init__.py" \
            else e.target.rpartition(".")[0]
        if private_names and not (e.source == home or e.source.startswith(home + ".")):
            bad.append(f"{where} imports private {private_names} from {e.target}")
    return bad


def test_the_package_has_no_import_cycle_even_inside_functions() -> None:
    assert cycles(all_edges()) == []


def test_private_modules_and_names_stay_inside_their_subpackage() -> None:
    assert violations(all_edges(), outside=False) == []


def test_tests_benchmarks_and_scripts_import_public_names_only() -> None:
    present = tuple(f for f in OUTSIDE if (ROOT / f).is_dir())
    assert violations(all_edges(present), outside=True) == []


# --------------------------------------------------------------------------- the checker


def _edges_from(source: str, name: str, tmp_path: Path) -> list[Edge]:
    path = tmp_path / "m.py"
    path.write_text(source, encoding="utf-8")
    return edges_of(path, name)


def test_the_cycle_check_sees_an_import_hidden_in_a_function(tmp_path: Path) -> None:
    a, b = "assistant.text.segment", "assistant.text.dates"
    edges = [Edge(a, b, ("x",), 1),
             *_edges_from("def f():\n    from assistant.text.segment import y\n", b, tmp_path)]
    assert cycles(edges) == [sorted([a, b])]


def test_type_checking_imports_are_not_edges(tmp_path: Path) -> None:
    src = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
           "    from assistant.schemas import Document\nfrom assistant.errors import UserError\n")
    assert [e.target for e in _edges_from(src, "assistant.text.dates", tmp_path)] == ["assistant.errors"]


@pytest.mark.parametrize(("source", "name", "outside", "expected"), [
    ("from assistant.batch import _tasks\n", "assistant.cli.batch", False, 1),
    ("from assistant.batch import _tasks\n", "assistant.batch.runner", False, 0),
    ("from assistant.batch.runner import _Gate\n", "assistant.cli.batch", False, 1),
    ("from assistant.batch.runner import _Gate\n", "assistant.batch._tasks", False, 0),
    ("from assistant.text.signals import signals_for\n", "tests/test_x.py", True, 0),
    ("from assistant.text.signals import _nlp\n", "tests/test_x.py", True, 1),
    ("from assistant.backends import _bpe\n", "tests/test_x.py", True, 1),
])
def test_the_privacy_check(source: str, name: str, outside: bool, expected: int,
                           tmp_path: Path) -> None:
    assert len(violations(_edges_from(source, name, tmp_path), outside=outside)) == expected


def test_eval_data_is_found_from_the_checkout_or_the_environment_never_site_packages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.evals import paths

    monkeypatch.delenv(paths.ENV_EVALS_DIR, raising=False)
    monkeypatch.delenv(paths.ENV_EVAL_DATA, raising=False)
    assert paths.evals_dir() == ROOT / "evals"  # this checkout, wherever the cwd is
    assert paths.data_dir() == ROOT.parent / "shared" / "data"
    monkeypatch.setenv(paths.ENV_EVALS_DIR, str(tmp_path / "e"))
    monkeypatch.setenv(paths.ENV_EVAL_DATA, str(tmp_path / "d"))
    assert (paths.evals_dir(), paths.data_dir()) == (tmp_path / "e", tmp_path / "d")
    assert paths.fixtures_dir() == tmp_path / "e" / "fixtures" / "articles"
