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
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from swarm_star.errors import SpaceError
from swarm_star.models import SpaceEntry, SpaceFolder, SpaceLeaf
from swarm_star.spaces.needs import NEEDS
from swarm_star.spaces.spec import LeafSpec

__all__ = ["Space", "find_space_dir", "load_space", "merge_folder"]

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
    """A loaded space: metadata entries by id, plus the modules behind the leaves."""

    kind: str
    entries: dict[str, SpaceEntry] = field(default_factory=dict)
    modules: dict[str, ModuleType] = field(default_factory=dict)

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


def _description(folder: Path) -> str:
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
        entry = SpaceFolder(id=folder_id, name=name, description=_description(folder))
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
                space.entries[child_id] = SpaceLeaf(
                    id=child_id,
                    name=spec.name,
                    description=spec.description,
                    routable=spec.routable,
                    entry_point=f"{path.name}:{entry_point}",
                    input_schema=spec.input_schema,
                    needs=list(spec.needs),
                )
                space.modules[child_id] = module
                entry.children.append(child_id)

    walk(directory, ROOT_FOLDER_ID, directory.name)
    return space


def merge_folder(space: Space, directory: Path, folder_id: str, entry_point: str, module_kind: str) -> None:
    """Graft ``directory`` into ``space`` as the top-level category ``folder_id``.

    Used for a swarm's own actions (its swarm space's ``actions/`` folder): they
    join that swarm's loaded space only. ``module_kind`` keeps their module
    names apart from other swarms'. Merging again replaces the earlier graft.
    """
    for entry_id in [e for e in space.entries if e == folder_id or e.startswith(folder_id + ".")]:
        space.entries.pop(entry_id)
        space.modules.pop(entry_id, None)
    root = space.root
    root.children = [c for c in root.children if c != folder_id]
    sub = load_space(directory, module_kind, entry_point)
    for entry_id, entry in sub.entries.items():
        new_id = folder_id if entry_id == ROOT_FOLDER_ID else f"{folder_id}.{entry_id}"
        update: dict[str, object] = {"id": new_id}
        if entry_id == ROOT_FOLDER_ID:
            update["name"] = folder_id
        if isinstance(entry, SpaceFolder):
            update["children"] = [f"{folder_id}.{c}" for c in entry.children]
        space.entries[new_id] = entry.model_copy(update=update)
        if entry_id in sub.modules:
            space.modules[new_id] = sub.modules[entry_id]
    root.children.append(folder_id)
