"""The package's import graph, read from the source (ast): no cycles, and no module importing
one from a higher layer. Data flows one way: errors → frames → probe/source/sink → pipeline →
api/live → cli, and a lazy import inside a function counts as much as one at the top."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "vidsr"

# Lowest first. A module may import its own layer or lower ones. Prefixes: `vidsr.models`
# covers `vidsr.models.fsrcnn` too.
LAYERS: list[tuple[str, ...]] = [
    ("vidsr.errors",),
    ("vidsr.catalog", "vidsr.geometry", "vidsr.color", "vidsr.resize", "vidsr.metrics",
     "vidsr.timing"),
    ("vidsr.config", "vidsr.frames"),
    ("vidsr.models", "vidsr.probe", "vidsr.dataset"),
    ("vidsr.backends", "vidsr.tiling", "vidsr.source", "vidsr.sink", "vidsr.degrade",
     "vidsr.evaluate"),
    ("vidsr.pipeline", "vidsr.resume", "vidsr.train"),
    ("vidsr.plan",),
    ("vidsr.api", "vidsr.live", "vidsr.cluster"),
    ("vidsr.video_eval", "vidsr.compare", "vidsr.jobs"),
    ("vidsr.bench",),
    ("vidsr.cli", "vidsr.__main__", "vidsr"),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = PACKAGE.parent / name.replace(".", "/")
    return path.is_dir() or path.with_suffix(".py").is_file()


def imports() -> dict[str, set[str]]:
    """Module -> the vidsr modules it imports (anywhere in it)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("vidsr")}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
                    node.module.startswith("vidsr")):
                # `from vidsr import bench` imports the module vidsr.bench; `from vidsr.x import
                # f` imports vidsr.x.
                subs = {f"{node.module}.{a.name}" for a in node.names}
                found |= {m for m in subs if _is_module(m)} or {node.module}
        graph[name] = found - {name}
    return graph


def layer(module: str) -> int:
    best = None
    for rank, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (rank, len(prefix))
    if best is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS")
    return best[0]


def upward(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a higher layer, as 'a → b'."""
    return [f"{m} → {d}" for m in sorted(graph) for d in sorted(graph[m]) if layer(d) > layer(m)]


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, or None. A package's __init__ importing its own submodules is none."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module):], module]
        if module in done:
            return None
        for dep in sorted(graph.get(module, ())):
            if not dep.startswith(module + "."):
                if found := visit(dep, [*path, module]):
                    return found
        done.add(module)
        return None

    return next((c for m in sorted(graph) if (c := visit(m, []))), None)


GRAPH = imports()


def test_every_module_has_a_layer() -> None:
    for module in GRAPH:
        layer(module)


def test_no_module_imports_a_higher_layer() -> None:
    assert upward(GRAPH) == []


def test_no_import_cycles() -> None:
    assert cycle(GRAPH) is None


def test_the_checks_find_what_they_look_for() -> None:
    assert "vidsr.frames" in GRAPH["vidsr.source"] and "vidsr.live" in GRAPH["vidsr.cli.stream"]
    bad = {**GRAPH, "vidsr.frames": GRAPH["vidsr.frames"] | {"vidsr.api"}}
    assert "vidsr.frames → vidsr.api" in upward(bad)
    assert cycle(bad) is not None and cycle(bad)[0] == cycle(bad)[-1]
