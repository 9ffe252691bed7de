"""Names a package gives on first use: the body of its module ``__getattr__``.

Why: a package that imported all its modules up front made ``tree`` and ``--help`` import the
engine, the models' pydantic classes and the chat client (issue 25). The packages ``swarm_star``,
``api``, ``llm`` and ``models`` list where each of their names lives and import that module when
the name is first asked for; one function, so they behave alike: a name from its home, a
submodule as an attribute (as after an eager import), anything else one ``AttributeError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any

__all__ = ["export"]


def export(package: str, homes: Mapping[str, str], name: str) -> Any:
    """``package``'s attribute ``name``: from the module ``homes`` names, else the submodule of
    that name; AttributeError for anything else (dunder names are never imported: ``__main__``
    is a module of ``swarm_star`` that runs the command)."""
    home = homes.get(name)
    if home is not None:
        return getattr(import_module(home), name)
    if not name.startswith("__"):
        try:
            return import_module(f"{package}.{name}")
        except ModuleNotFoundError as missing:
            if missing.name != f"{package}.{name}":
                raise
    raise AttributeError(f"module {package!r} has no attribute {name!r}")
