"""The CLI and the HTTP server go through ``swarm_star.api``: checked on the source (AST), not by convention.

* ``cli/`` never imports the engine, the state or the store: what it runs and
  reads, it gets from ``api`` (and models, errors, render for showing it).
* ``serve/`` never imports the engine, the state, the store nor the CLI: it
  drives and reads through ``api`` (reads through ``api.SwarmReader``, which
  alone knows the store's keys and frame format).
* ``api/`` never imports ``cli`` or ``serve``.
* No module imports back into the CLI's entry module (``swarm_star.cli``'s
  ``__init__``) except ``python -m swarm_star``, and the CLI's modules import
  each other without a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "swarm_star"


def _imports(path: Path) -> list[str]:
    """Every module ``path`` imports (``from x import y`` gives ``x`` and ``x.y``), type-only ones too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.append(base)
            found += [f"{base}.{alias.name}" for alias in node.names]
    return found


def _modules(folder: str) -> dict[str, list[str]]:
    return {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts): _imports(p)
        for p in sorted((PACKAGE / folder).rglob("*.py"))
    }


def _under(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_the_cli_reaches_swarms_only_through_the_api() -> None:
    bad = {
        module: [name for name in names if _under(name, "swarm_star.engine", "swarm_star.state", "swarm_star.store")]
        for module, names in _modules("cli").items()
    }
    assert not any(bad.values()), {m: n for m, n in bad.items() if n}


def test_serve_drives_through_the_api_and_api_knows_no_client() -> None:
    serve = {
        module: [
            name
            for name in names
            if _under(name, "swarm_star.engine", "swarm_star.state", "swarm_star.store", "swarm_star.cli")
        ]
        for module, names in _modules("serve").items()
    }
    assert not any(serve.values()), {m: n for m, n in serve.items() if n}
    api = {
        module: [name for name in names if _under(name, "swarm_star.cli", "swarm_star.serve")]
        for module, names in _modules("api").items()
    }
    assert not any(api.values()), {m: n for m, n in api.items() if n}


def test_nothing_imports_back_into_the_cli_entry_module_and_no_cycle() -> None:
    everything = {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts): _imports(p) for p in PACKAGE.rglob("*.py")
    }
    back = sorted(
        module
        for module, names in everything.items()
        if module != "swarm_star.__main__" and any(name == "swarm_star.cli" for name in names)
    )
    assert back == []
    cli = {
        m: {n for n in names if n in everything and n.startswith("swarm_star.cli.")}
        for m, names in _modules("cli").items()
    }
    seen: dict[str, str] = {}  # module -> "visiting" | "done"

    def visit(module: str, path: list[str]) -> None:
        if seen.get(module) == "done":
            return
        assert seen.get(module) != "visiting", f"import cycle: {' -> '.join([*path, module])}"
        seen[module] = "visiting"
        for other in sorted(cli.get(module, ())):
            visit(other, [*path, module])
        seen[module] = "done"

    for module in sorted(cli):
        visit(module, [])
    assert len(cli) >= 10  # the package really was scanned


def test_every_error_carries_the_exit_code_and_status_its_table_shows() -> None:
    """The tree drawn in errors.py's docstring is the table the CLI and serve go by: the
    classes must say the same (every class of the module, each one row)."""
    import re

    from swarm_star import errors

    rows = {
        m.group(1): (int(m.group(2)), int(m.group(3)))
        for m in re.finditer(r"(\w+)\s+(\d+)\s+(\d{3})\b", errors.__doc__ or "")
    }
    classes = {name: cls for name, cls in vars(errors).items() if isinstance(cls, type) and issubclass(cls, Exception)}
    assert set(rows) == set(classes)
    assert {name: (int(cls.exit_code), cls.http_status) for name, cls in classes.items()} == rows
    assert not issubclass(errors.AlreadyRunning, errors.ConflictError)  # 409 "already running" is its own error
