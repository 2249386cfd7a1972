"""The walk from CLI to reports goes one way: no module imports its way back round.

Module-level imports of fleetcheck's own modules form a graph that must have no cycle
(imports inside functions, made where they are needed, are left out: they are how a
command avoids loading what it does not use). The layers below may not import upwards.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "fleetcheck"
# A module of a lower layer never imports one of a higher layer at module level.
LAYERS = ("model", "errors", "yamlsrc", "services", "parsers", "inventory", "policy",
          "transport", "plan", "collect", "history", "engine", "render", "cli")


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _trees() -> dict[str, ast.Module]:
    """Every module of the package, parsed once for all the tests here."""
    return {_module(p): ast.parse(p.read_text(), str(p)) for p in PACKAGE.rglob("*.py")}


def _graph() -> dict[str, set[str]]:
    modules = _trees()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, tree in modules.items():
        for node in tree.body:  # module level only
            if isinstance(node, ast.If):  # `if TYPE_CHECKING:` imports cost nothing at run time
                continue
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from pkg import submodule` needs the submodule; `from m import name`, m
                subs = [f"{node.module}.{a.name}" for a in node.names]
                targets = [t for t in subs if t in modules] or [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _layer(module: str) -> int | None:
    first = module.split(".")[1] if "." in module else ""
    return LAYERS.index(first) if first in LAYERS else None


def test_no_import_cycles() -> None:
    assert _cycle(_graph()) is None


def test_no_layer_imports_a_higher_one() -> None:
    upward = []
    for module, imports in _graph().items():
        mine = _layer(module)
        for target in imports:
            theirs = _layer(target)
            if mine is not None and theirs is not None and theirs > mine:
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_the_package_root_holds_no_engine() -> None:
    """The run machinery lives in fleetcheck/engine/, not loose at the root."""
    loose = {p.name for p in PACKAGE.glob("*.py")}
    assert not loose & {"scan.py", "runner.py", "workers.py", "result.py", "evaluate.py"}


def _frozen_dataclasses() -> list[str]:
    """Classes of the package made by `dataclass(frozen=True ...)` instead of `@frozen`."""
    found = []
    for module, tree in _trees().items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and any(
                        k.arg == "frozen" and isinstance(k.value, ast.Constant) and k.value.value
                        for k in deco.keywords) and ast.unparse(deco.func).endswith("dataclass"):
                    found.append(f"{module}.{node.name}")
    return found


def test_every_frozen_record_is_made_by_frozen() -> None:
    """A frozen dataclass compiles six methods at every start; `@frozen` shares five and
    compiles `__init__` on first use (fleetcheck/frozen.py): a run's start depends on it."""
    assert _frozen_dataclasses() == []


def _records_without_docstring() -> list[str]:
    """Classes of the package made by `@frozen` or `@dataclass` that have no docstring."""
    found = []
    for module, tree in _trees().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and ast.get_docstring(node) is None and any(
                    ast.unparse(d.func if isinstance(d, ast.Call) else d).split(".")[-1]
                    in ("frozen", "dataclass") for d in node.decorator_list):
                found.append(f"{module}.{node.name}")
    return found


def test_every_record_has_a_docstring() -> None:
    """`dataclasses` gives a class without a docstring one made from its signature, which
    it works out (and `@frozen` compiles `__init__` for) when the module is imported."""
    assert _records_without_docstring() == []
