"""The imports of ``lmac_brain`` run one way: down the layers, with no cycle.

Every module is parsed (``ast``, nothing is imported), so an import written inside a function
counts as much as one at the top: both make the importing package depend on the imported one.
A package here is a first-level name under ``lmac_brain`` (``lmac_brain.audio``, or a module
such as ``lmac_brain.checkpoints``).
"""

import ast
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "lmac_brain"

LAYERS = (
    ("errors",),
    ("audio", "checkpoints"),
    ("models", "metrics", "reporting", "data"),
    ("explainers",),
    ("brains", "evaluation", "synthetic"),
    ("experiments", "sanity"),
    ("inference",),
    ("interpret",),
    ("listening",),
)
"""The packages of ``lmac_brain``, lowest first: a package imports only packages of lower layers.

``errors`` and ``checkpoints`` are below everything that raises or loads; the audio front end
below the models, metrics and pictures built on it; the explainers below the training Brains
and the evaluation; the experiment tools and the sanity checks above the evaluation they run;
``inference`` (the Python API) below the command-line runs (``interpret``, then ``listening``,
which collects its inputs as ``interpret`` does) that explain through it."""


def module_name(path):
    """``lmac_brain.audio.masking`` for ``lmac_brain/audio/masking.py`` (a package for ``__init__``)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules():
    """``{module name: path}`` of every module of the package."""
    return {module_name(path): path for path in sorted((ROOT / PACKAGE).rglob("*.py"))}


def imported_names(name, path):
    """The absolute names ``path`` (module ``name``) imports, relative imports resolved."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = name.split(".") if is_package else name.split(".")[:-1]
                parent = parent[: len(parent) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            # ``from pkg import sub`` imports the module ``pkg.sub`` when there is one.
            yield from (f"{base}.{alias.name}" for alias in node.names)


@lru_cache(maxsize=1)  # parsed once for all the tests; callers only read it
def module_graph():
    """``{module: {imported module, ...}}`` over the package's own modules."""
    known = modules()
    graph = defaultdict(set)
    for name, path in known.items():
        for imported in imported_names(name, path):
            while imported and imported not in known:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                graph[name].add(imported)
    return graph


def top_package(module):
    """``audio`` for ``lmac_brain.audio.masking``; ``""`` for ``lmac_brain`` itself."""
    return module.split(".")[1] if "." in module else ""


def package_graph():
    """``{package: {imported package: [an importing module, ...]}}`` across packages only."""
    graph = defaultdict(lambda: defaultdict(list))
    for module, imported in module_graph().items():
        for target in imported:
            source, destination = top_package(module), top_package(target)
            if source and destination and source != destination:
                graph[source][destination].append(f"{module} -> {target}")
    return graph


def find_cycle(graph):
    """One cycle of ``graph`` (``{node: iterable of nodes}``) as a list of nodes, or ``None``."""
    state = {}  # node -> "open" while on the search path, "done" once all it reaches is searched
    path = []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_package_graph_is_acyclic():
    graph = package_graph()
    cycle = find_cycle(graph)
    where = [imp for a, b in zip(cycle, cycle[1:]) for imp in graph[a][b]] if cycle else []
    assert cycle is None, f"package cycle {' -> '.join(cycle)}, through: {'; '.join(where)}"


def test_the_module_graph_is_acyclic():
    cycle = find_cycle(module_graph())
    assert cycle is None, f"module cycle {' -> '.join(cycle)}"


def test_every_import_goes_down_the_layers():
    layer = {package: level for level, packages in enumerate(LAYERS) for package in packages}
    packages = {top_package(module) for module in modules()} - {""}
    unplaced = sorted(packages - set(layer))
    assert not unplaced, f"place {unplaced} in LAYERS (tests/test_layering.py)"
    upward = [
        f"{source} (layer {layer[source]}) imports {destination} (layer {layer[destination]}): "
        + "; ".join(graph_imports)
        for source, targets in package_graph().items()
        for destination, graph_imports in targets.items()
        if layer[destination] >= layer[source]
    ]
    assert not upward, "imports that do not go down the layers:\n" + "\n".join(upward)


def test_the_checks_see_a_cycle_and_an_import_inside_a_function(tmp_path):
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b", "c"], "b": ["c"], "c": []}) is None
    source = tmp_path / "masking.py"
    source.write_text("from .spectral import mel\nfrom ..errors import UsageError\n\n\n"
                      "def f():\n    import lmac_brain.reporting.plots\n")
    assert set(imported_names("lmac_brain.audio.masking", source)) == {
        "lmac_brain.audio.spectral.mel", "lmac_brain.errors.UsageError", "lmac_brain.reporting.plots"}
    graph = package_graph()
    assert "checkpoints" in graph["explainers"] and "explainers" not in graph["checkpoints"]
