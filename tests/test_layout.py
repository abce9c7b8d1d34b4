"""The package's layout: imports point down the data flow, and no module imports itself back through others.

Every import in jglue_bench/ counts, the ones inside functions too (they run as soon as the function does). A
module may import its own sub-package and any layer below its own; two packages of one layer never import each
other."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "jglue_bench"
# The data flow, bottom up (README, Development). Top-level modules count as a layer of their own.
LAYERS = {
    "__init__": 0,
    "errors": 0,
    "support": 0,
    "metrics": 1,
    "data": 1,
    "tokenization": 1,
    "tasks": 2,
    "prepare": 3,
    "records": 4,
    "config": 5,
    "train": 6,
    "fewshot": 6,
    "report": 7,
    "experiments": 8,
    "bench": 8,
    "commands": 9,
    "cli": 10,
}


def module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def imports_of(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The jglue_bench modules `path` imports (a `from package import module` names the module)."""
    found = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in modules and target != name:
                found.add(target)
    return found


def layer_of(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports_of(path, name, modules) for name, path in modules.items()}


def test_every_module_is_in_a_known_layer():
    unknown = sorted({layer_of(module) for module in module_names()} - set(LAYERS))
    assert not unknown, f"modules outside the layers of LAYERS: {unknown}"


def test_imports_point_down_the_flow():
    wrong = []
    for module, targets in import_graph().items():
        for target in targets:
            source_layer, target_layer = layer_of(module), layer_of(target)
            if source_layer != target_layer and LAYERS[target_layer] >= LAYERS[source_layer]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles():
    graph = import_graph()
    cycles = strongly_connected(graph)
    assert not cycles, cycles


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of modules that import one another (directly or through others)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def test_the_checks_see_a_cycle_and_an_upward_import():
    """The test can fail: a made-up graph with a cycle and an import against the flow is caught."""
    graph = {"jglue_bench.data.a": {"jglue_bench.train.b"}, "jglue_bench.train.b": {"jglue_bench.data.a"}}
    assert strongly_connected(graph) == [["jglue_bench.data.a", "jglue_bench.train.b"]]
    assert LAYERS[layer_of("jglue_bench.train.b")] >= LAYERS[layer_of("jglue_bench.data.a")]
