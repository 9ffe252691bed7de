"""The one-way import rules, checked on the source (an AST scan, so nothing is imported).

- ``actions/`` and ``utils_space/`` reach the library through one door: they import
  ``swarm_star.kit`` and nothing else of ``swarm_star`` (any standard-library or
  third-party import is their own business);
- the engine never imports the kit (the kit sits above it: what both need lives below),
  nor the API or its clients (``api``, ``cli``, ``serve``: they sit above it; a Ray worker
  loads the installed spaces from ``spaces/``, not through the API);
- ``swarm_star/prompts/`` imports nothing of the rest of Swarm Star (the words are data).

Every import statement counts, also one inside a function or under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` for every import in the file. ``from a.b import c`` imports ``a.b``;
    ``from swarm_star import kit`` imports ``swarm_star.kit`` (the package's names are its modules)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "swarm_star" and node.level == 0:
            found.extend((node.lineno, f"swarm_star.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _ours(module: str) -> bool:
    return module == "swarm_star" or module.startswith("swarm_star.")


def _files(*folders: str) -> list[Path]:
    paths = sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))
    assert paths, f"no Python files under {folders}"
    return paths


def _where(path: Path, line: int, module: str) -> str:
    return f"{path.relative_to(ROOT)}:{line} imports {module}"


def test_actions_and_utils_import_only_the_kit() -> None:
    wrong = [
        _where(path, line, module)
        for path in _files("actions", "utils_space")
        for line, module in _imports(path)
        if _ours(module) and module != "swarm_star.kit"
    ]
    assert wrong == [], "actions and utils import swarm_star.kit only:\n" + "\n".join(wrong)


def test_the_engine_does_not_import_the_kit() -> None:
    wrong = [
        _where(path, line, module)
        for path in _files("swarm_star/engine")
        for line, module in _imports(path)
        if module == "swarm_star.kit" or module.startswith("swarm_star.kit.")
    ]
    assert wrong == [], "the engine never imports the kit:\n" + "\n".join(wrong)


def test_prompts_import_nothing_of_the_rest_of_swarm_star() -> None:
    wrong = [
        _where(path, line, module)
        for path in _files("swarm_star/prompts")
        for line, module in _imports(path)
        if _ours(module) and module != "swarm_star.prompts" and not module.startswith("swarm_star.prompts.")
    ]
    assert wrong == [], "prompts/ is words only:\n" + "\n".join(wrong)


def test_the_engine_does_not_import_what_sits_above_it() -> None:
    above = ("swarm_star.api", "swarm_star.cli", "swarm_star.serve")
    wrong = [
        _where(path, line, module)
        for path in _files("swarm_star/engine")
        for line, module in _imports(path)
        if any(module == name or module.startswith(name + ".") for name in above)
    ]
    assert wrong == [], "the engine never imports api, cli or serve:\n" + "\n".join(wrong)
