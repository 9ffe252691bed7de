"""The one-way import rules of ``docs/architecture.md``, checked on the source (an AST scan: nothing is imported).

Every import statement counts, also one inside a function or under ``TYPE_CHECKING``. A *unit* is a top-level
package or module of ``swarm_star`` (``api``, ``cli``, ``engine``, ``errors``, ``telemetry`` ...).

* **Layers.** A unit imports only units of a lower layer (:data:`LAYERS`): so the engine never imports the kit,
  the API or a client; the store never imports the state, the engine or the API; the API never imports a client;
  ``models``, ``errors``, ``prompts`` and ``text`` import nothing above them. :data:`LEAVES` (modules that import
  nothing of Swarm Star) may be imported from anywhere.
* **No cycle** between units, nor between the CLI's modules; nothing imports back into the CLI's entry module.
* **Doors.** ``cli/`` and ``serve/`` reach swarms through ``api`` (plus the data and display units in
  :data:`CLIENTS_MAY_IMPORT`); ``actions/`` and ``utils_space/`` import ``swarm_star.kit`` and nothing else of
  Swarm Star; the kit uses the engine only through ``engine.context`` (the activation) and ``engine.quality``.

Code that breaks a rule today, in files another step of issue 20 is rewriting, is listed in :data:`KNOWN` with
the reason; an entry that no longer matches anything fails the run, so the list only shrinks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.paths import ROOT

PACKAGE = ROOT / "swarm_star"

LAYERS: list[set[str]] = [
    {
        "errors",
        "text",
        "prompts",
        "lazy",
    },  # the error table, text cleaning, the words, lazy exports: import nothing of Swarm Star
    {"models", "eventloop"},  # the persisted types; the event loop every command runs on
    {"llm"},  # model calls
    {"store", "testing"},  # key-value stores: SQLite, Cosmos DB; the model doubles users need (the demo)
    {"state"},  # history, projection, lease: what the keys mean
    {"spaces", "primitives"},  # action/util/memory spaces; fan-out and hostfile patterns
    {"tools", "sandbox"},  # MCP servers, web tools, approvals; bubblewrap for every exec and created action
    {"engine"},  # the single writer, scheduling, budgets, the call journal, ActionContext
    {"kit", "render", "telemetry"},  # what actions import; terminal/report rendering; OpenTelemetry export
    {"api"},  # the one door
    {"serve", "mcpserve", "evaluation"},  # the HTTP server; Swarm Star as an MCP server; `swarm-star eval`
    {"cli"},  # the command (starts serve for `swarm-star serve`)
]
LAYER = {unit: level for level, units in enumerate(LAYERS) for unit in units}

LEAVES = {"swarm_star.llm.redact"}
"""Modules that import nothing of Swarm Star, importable from any layer: the redaction boundary is used from the
models (a base_url loses its credentials) up to serve."""

CLIENTS_MAY_IMPORT = {"api", "models", "errors", "prompts", "text", "render", "telemetry", "eventloop"}
CLI_MAY_ALSO_IMPORT = {
    "serve",
    "mcpserve",
    "evaluation",
    "testing",
}  # `serve`, `mcp` and `eval` start theirs; `demo` its model
KIT_MAY_IMPORT_OF_ENGINE = {"swarm_star.engine.context", "swarm_star.engine.quality"}
EXEMPT = {"swarm_star", "swarm_star.__main__", "swarm_star.fanout"}
"""The package's lazy re-exports; `python -m swarm_star`; `python -m swarm_star.fanout` (StochasticSwarm's command)."""

KNOWN: dict[tuple[str, str], str] = {
    # (importing module, imported unit): why it is still there
    ("swarm_star.serve.endpoints", "llm"): "resolve_endpoint for the operator's endpoint list; via api next",
    ("swarm_star.serve.drive", "llm"): "resolve_endpoint to fail fast before a swarm is created; via api next",
    ("swarm_star.spaces.own", "sandbox"): "the graft runs created actions out of process; moves to kit next",
    ("swarm_star.sandbox.own_action", "engine"): "the type of the context it relays (TYPE_CHECKING only)",
    ("swarm_star.cli.run", "llm"): "resolve_endpoint: is there an endpoint to ask for its model; via api next",
    ("swarm_star.cli.run", "sandbox"): "SANDBOXES, the --sandbox flag's choices; via api next",
    ("swarm_star.cli.mcp", "llm"): "the model endpoint check of `swarm-star mcp`; via api next",
    # The CLI's model and primitive commands call llm/ and primitives/ directly (no swarm, no store). Issue 21
    # is editing these files now; they go through an api module once it has merged.
    ("swarm_star.cli.models", "llm"): "doctor/models: resolve_endpoint, LLMClient, PriceBook; after issue 21",
    ("swarm_star.cli.primitives", "primitives"): "fanout/agents commands; after issue 21",
    ("swarm_star.cli.run", "primitives"): "load_hostfile for --hostfile; after issue 21",
}


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    importer: str  # dotted module name of the file
    target: str  # dotted module imported

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line} imports {self.target}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[Import]:
    """Every import of ``path``: ``from a.b import c`` imports ``a.b`` (and ``a.b.c`` when that is a module);
    relative imports are resolved; ``from swarm_star import kit`` imports ``swarm_star.kit``."""
    importer = _module_name(path)
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, importer, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            yield Import(path, node.lineno, importer, base)
            for alias in node.names:
                yield Import(path, node.lineno, importer, f"{base}.{alias.name}")


def _is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    return (ROOT / relative).with_suffix(".py").is_file() or (ROOT / relative / "__init__.py").is_file()


def _ours(name: str) -> bool:
    return (name == "swarm_star" or name.startswith("swarm_star.")) and _is_module(name)


def _unit(name: str) -> str:
    return name.split(".")[1] if name.count(".") else name


def _leaf(name: str) -> bool:
    return name in LEAVES


def _package_imports() -> list[Import]:
    """Imports of Swarm Star modules by Swarm Star modules, between different units."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for imp in _imports(path):
            if imp.importer in EXEMPT or not _ours(imp.target) or imp.target == "swarm_star":
                continue
            if _unit(imp.importer) != _unit(imp.target):
                found.append(imp)
    assert len(found) > 100, "the scan found too few imports: is the package where the test looks?"
    return found


def _known(imp: Import) -> bool:
    return (imp.importer, _unit(imp.target)) in KNOWN


def _report(title: str, broken: list[Import]) -> str:
    return title + ":\n" + "\n".join(sorted({str(b) for b in broken}))


def test_every_unit_is_in_a_layer() -> None:
    units = {_unit(_module_name(p)) for p in PACKAGE.rglob("*.py")} - {"swarm_star", "__main__", "fanout"}
    assert units == set(LAYER), "put each unit in LAYERS (and docs/architecture.md)"


def test_leaves_import_nothing_of_swarm_star() -> None:
    broken = [
        imp
        for leaf in sorted(LEAVES | {f"swarm_star.{u}" for u in LAYERS[0]})
        for path in [ROOT / Path(*leaf.split(".")).with_suffix(".py"), ROOT / Path(*leaf.split(".")) / "__init__.py"]
        if path.is_file()
        for p in ([path] if path.name != "__init__.py" else sorted(path.parent.rglob("*.py")))
        for imp in _imports(p)
        if _ours(imp.target) and _unit(imp.target) != _unit(imp.importer)
    ]
    assert broken == [], _report("leaf modules import nothing of Swarm Star", broken)


def test_imports_go_down_the_layers() -> None:
    broken = [
        imp
        for imp in _package_imports()
        if not _leaf(imp.target) and LAYER[_unit(imp.target)] >= LAYER[_unit(imp.importer)] and not _known(imp)
    ]
    assert broken == [], _report("a unit imports only lower layers (LAYERS)", broken)


def test_cli_and_serve_reach_swarms_through_the_api() -> None:
    broken = []
    for imp in _package_imports():
        client, target = _unit(imp.importer), _unit(imp.target)
        if client not in ("cli", "serve") or _leaf(imp.target) or _known(imp):
            continue
        allowed = CLIENTS_MAY_IMPORT | (CLI_MAY_ALSO_IMPORT if client == "cli" else set())
        if target not in allowed:
            broken.append(imp)
    assert broken == [], _report("cli/ and serve/ import api (and CLIENTS_MAY_IMPORT) only", broken)


def test_the_kit_uses_the_engine_only_through_the_activation() -> None:
    broken = [
        imp
        for imp in _package_imports()
        if _unit(imp.importer) == "kit" and _unit(imp.target) == "engine"
        if not any(imp.target == m or imp.target.startswith(m + ".") for m in KIT_MAY_IMPORT_OF_ENGINE)
        if imp.target != "swarm_star.engine"  # `from swarm_star.engine.context import x` also yields its package
    ]
    assert broken == [], _report(f"the kit imports of the engine only {sorted(KIT_MAY_IMPORT_OF_ENGINE)}", broken)


def test_actions_and_utils_import_only_the_kit() -> None:
    paths = sorted(p for folder in ("actions", "utils_space") for p in (ROOT / folder).rglob("*.py"))
    assert len(paths) > 10
    broken = [
        imp
        for path in paths
        for imp in _imports(path)
        if _ours(imp.target) and imp.target not in ("swarm_star", "swarm_star.kit")
    ]
    assert broken == [], _report("actions and utils import swarm_star.kit only", broken)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path (first node repeated at the end), or None."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        if state.get(node) == "done":
            return None
        if state.get(node) == "visiting":
            return [*path[path.index(node) :], node]
        state[node] = "visiting"
        for other in sorted(graph.get(node, ())):
            found = visit(other, [*path, node])
            if found:
                return found
        state[node] = "done"
        return None

    for node in sorted(graph):
        found = visit(node, [])
        if found:
            return found
    return None


def test_no_import_cycle_between_units() -> None:
    graph: dict[str, set[str]] = {}
    for imp in _package_imports():
        if not _leaf(imp.target) and not _known(imp):
            graph.setdefault(_unit(imp.importer), set()).add(_unit(imp.target))
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_no_cycle_in_the_cli_and_nothing_imports_its_entry_module() -> None:
    every = [imp for path in sorted(PACKAGE.rglob("*.py")) for imp in _imports(path)]
    back = sorted({str(i) for i in every if i.target == "swarm_star.cli" and i.importer not in EXEMPT})
    assert back == [], "nothing imports back into swarm_star.cli (the entry module):\n" + "\n".join(back)
    graph: dict[str, set[str]] = {}
    for imp in every:
        if (
            imp.importer.startswith("swarm_star.cli.")
            and imp.target.startswith("swarm_star.cli.")
            and _ours(imp.target)
        ):
            graph.setdefault(imp.importer, set()).add(imp.target)
    assert len(graph) >= 6, "the CLI package really was scanned"
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_every_known_exception_still_exists() -> None:
    """Fixing one of KNOWN is done by removing its line: a stale entry would hide the next break."""
    present = {(imp.importer, _unit(imp.target)) for imp in _package_imports()}
    stale = sorted(set(KNOWN) - present)
    assert stale == [], f"remove these from KNOWN, they are fixed: {stale}"
