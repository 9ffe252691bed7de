"""Load a folder tree (``actions/`` or ``utils_space/``) as a space of metadata.

A folder is a category: its ``README.md`` (first paragraph) is the description
a router shows the model. A ``*.py`` file not starting with ``_`` is a leaf; it
defines ``SPEC`` (an :class:`~swarm_star.spaces.spec.LeafSpec`) and an entry
point (``run`` for actions, ``call`` for utils). Modules are loaded by path
under a private module name, never imported as a global package ``actions``.

Where the trees are found: an explicit directory if given, else the copies
bundled in the installed wheel (``swarm_star/_bundled``), else the source
checkout next to the package (editable installs and running from a clone).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from swarm_star.errors import SpaceError
from swarm_star.models import SpaceEntry, SpaceFolder, SpaceLeaf
from swarm_star.spaces.needs import NEEDS
from swarm_star.spaces.spec import LeafSpec

__all__ = ["Space", "find_space_dir", "load_space", "readme_description"]

ROOT_FOLDER_ID = "root"


def find_space_dir(name: str) -> Path:
    """Locate the bundled or checked-out tree ``actions`` or ``utils_space``."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "_bundled" / name, package.parent / name):
        if candidate.is_dir():
            return candidate
    raise SpaceError(f"cannot find the {name}/ tree (looked in the package and its checkout)")


@dataclass
class Space:
    """A loaded space: metadata entries by id, plus the modules behind the leaves.

    ``expanders`` are folders whose children are filled in on the first visit
    (an MCP server's folder lists its tools only when a router enters it: the
    server starts on first use); :meth:`expand` runs and forgets one.
    """

    kind: str
    entries: dict[str, SpaceEntry] = field(default_factory=dict)
    modules: dict[str, ModuleType] = field(default_factory=dict)
    expanders: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)

    async def expand(self, folder_id: str) -> None:
        """Fill a lazy folder's children now (nothing for a folder that is not lazy)."""
        expander = self.expanders.get(folder_id)
        if expander is not None:
            await expander()
            self.expanders.pop(folder_id, None)

    @property
    def root(self) -> SpaceFolder:
        root = self.entries[ROOT_FOLDER_ID]
        assert isinstance(root, SpaceFolder)
        return root

    def children(self, folder_id: str) -> list[SpaceEntry]:
        folder = self.entries[folder_id]
        if not isinstance(folder, SpaceFolder):
            return []
        return [self.entries[c] for c in folder.children]

    def leaf(self, leaf_id: str) -> SpaceLeaf:
        entry = self.entries.get(leaf_id)
        if not isinstance(entry, SpaceLeaf):
            raise SpaceError(f"no {self.kind} named {leaf_id!r}")
        return entry

    def module(self, leaf_id: str) -> ModuleType:
        self.leaf(leaf_id)
        return self.modules[leaf_id]

    def leaves(self) -> list[SpaceLeaf]:
        return [e for e in self.entries.values() if isinstance(e, SpaceLeaf)]

    def render(self, folder_id: str = ROOT_FOLDER_ID, indent: str = "") -> list[str]:
        """Human-readable tree lines, used by ``swarm-star spaces``."""
        lines = []
        for child in self.children(folder_id):
            mark = "/" if isinstance(child, SpaceFolder) else ""
            hidden = "" if not isinstance(child, SpaceLeaf) or child.routable else " (not routable)"
            if isinstance(child, SpaceLeaf) and child.needs:
                hidden += f" (needs {', '.join(child.needs)})"
            lines.append(f"{indent}{child.name}{mark}{hidden} — {child.description}")
            if isinstance(child, SpaceFolder):
                lines.extend(self.render(child.id, indent + "  "))
        return lines


def readme_description(folder: Path) -> str:
    """A folder's description: the first paragraph of its README.md that is not a heading."""
    readme = folder / "README.md"
    if not readme.is_file():
        raise SpaceError(f"space folder {folder} has no README.md describing it")
    paragraphs = [p for p in readme.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    body = [p for p in paragraphs if not p.lstrip().startswith("#")]
    return " ".join((body[0] if body else paragraphs[0]).split()).lstrip("# ")


def _load_module(kind: str, leaf_id: str, path: Path) -> ModuleType:
    name = f"swarm_star_space_{kind}.{leaf_id}"
    stamp = path.stat().st_mtime_ns
    loaded = sys.modules.get(name)
    # the import system's own registry doubles as the cache: a leaf whose file is
    # unchanged is not executed again (a resumed or second swarm in one process)
    if (
        loaded is not None
        and getattr(loaded, "__file__", None) == str(path)
        and getattr(loaded, "_mtime_ns", None) == stamp
    ):
        return loaded
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SpaceError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves annotations through sys.modules
    try:
        spec.loader.exec_module(module)
        module._mtime_ns = stamp  # type: ignore[attr-defined]
    except Exception as exc:
        sys.modules.pop(name, None)
        raise SpaceError(f"{path}: failed to load: {exc}") from exc
    return module


def load_space(directory: Path, kind: str, entry_point: str) -> Space:
    """Walk ``directory`` into a :class:`Space`; ``entry_point`` is ``run`` or ``call``."""
    if not directory.is_dir():
        raise SpaceError(f"space directory {directory} does not exist")
    space = Space(kind=kind)

    def walk(folder: Path, folder_id: str, name: str) -> None:
        entry = SpaceFolder(id=folder_id, name=name, description=readme_description(folder))
        space.entries[folder_id] = entry
        for path in sorted(folder.iterdir()):
            if path.name.startswith(("_", ".")):
                continue
            child_id = path.stem if folder_id == ROOT_FOLDER_ID else f"{folder_id}.{path.stem}"
            if path.is_dir():
                walk(path, child_id, path.name)
                entry.children.append(child_id)
            elif path.suffix == ".py":
                module = _load_module(kind, child_id, path)
                spec = getattr(module, "SPEC", None)
                if not isinstance(spec, LeafSpec):
                    raise SpaceError(f"{path}: a leaf must define SPEC = LeafSpec(...)")
                if not callable(getattr(module, entry_point, None)):
                    raise SpaceError(f"{path}: a leaf must define {entry_point}()")
                unknown = sorted(set(spec.needs) - set(NEEDS))
                if unknown:
                    raise SpaceError(f"{path}: unknown needs {unknown} (known: {sorted(NEEDS)})")
                space.entries[child_id] = spec.leaf(child_id, f"{path.name}:{entry_point}")
                space.modules[child_id] = module
                entry.children.append(child_id)

    walk(directory, ROOT_FOLDER_ID, directory.name)
    return space
