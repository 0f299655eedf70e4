"""The import graph of the package: imports run downward only."""

import ast
from pathlib import Path

import sklocalize

PACKAGE = Path(sklocalize.__file__).parent


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path, name):
    """The package's modules that ``path`` imports, anywhere in it (a lazy
    import inside a function is an import too); the package root, whose
    names load on first use, left out."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            targets = [module] + [f"{module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        found.update(t for t in targets if t.startswith("sklocalize."))
    return found


def import_graph():
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {t for t in _imports(path, name) if t in files and t != name}
            for name, path in files.items()}


def test_no_import_circle():
    graph = import_graph()
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                circle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError("import circle: " + " -> ".join(circle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_services_do_not_import_the_estimators():
    graph = import_graph()
    estimators = {"sklocalize._base", "sklocalize.localizer", "sklocalize.landmarks"}
    services = ("sklocalize.persistence", "sklocalize.export", "sklocalize.metrics",
                "sklocalize.tasks", "sklocalize.tta")
    checked = [m for m in graph if m.startswith(services)]
    assert len(checked) > len(services)  # the metrics package's modules too
    for module in checked:
        assert not graph[module] & estimators, module
