"""The package's import graph: no cycles (function-level imports included), imports only go
down the layers, and no module imports another module's private (underscore) names."""

from __future__ import annotations

import ast
from pathlib import Path

import latentatlas

ROOT = Path(latentatlas.__file__).parent
# lower layers first; a module may import its own layer and the ones before it
LAYERS = [
    {"version", "errors", "fileio", "progress", "plotting", "stats", "threads"},
    {"data"},
    {"models", "train"},
    {"atlas", "concepts", "translate", "explain", "text"},
    {"runs"},
    {"explorer", "cli", "__main__"},
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(["latentatlas", *parts])] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, list[str]]]:
    """(imported module, names taken from it) for every import statement, anywhere in it."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.startswith("latentatlas")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("latentatlas"):
                continue
            for alias in node.names:  # `from . import x` names a submodule
                sub = f"{target}.{alias.name}"
                found.append((sub, []) if sub in modules else (target, [alias.name]))
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {t for t, _ in _imports(name, path, modules) if t in modules and t != name}
            for name, path in modules.items()}


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    return next(i for i, names in enumerate(LAYERS) if top in names)


def test_there_are_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_imports_only_go_down_the_layers():
    upward = [f"{a} imports {b}" for a, targets in _graph().items() if a != "latentatlas"
              for b in targets if b != "latentatlas" and _layer(b) > _layer(a)]
    assert not upward, "\n".join(upward)


def test_no_module_imports_another_modules_private_names():
    modules = _modules()
    private = [f"{name} takes {n} from {target}"
               for name, path in modules.items()
               for target, names in _imports(name, path, modules)
               for n in names if n.startswith("_") and not n.startswith("__")]
    assert not private, "\n".join(private)


def test_the_checks_see_a_cycle(tmp_path, monkeypatch):
    """The cycle check is not vacuous: two modules importing each other are found."""
    graph = {"a": {"b"}, "b": {"a"}}
    monkeypatch.setattr(f"{__name__}._graph", lambda: graph)
    try:
        test_there_are_no_import_cycles()
    except AssertionError as e:
        assert "a -> b -> a" in str(e)
    else:
        raise AssertionError("a cycle went unnoticed")
