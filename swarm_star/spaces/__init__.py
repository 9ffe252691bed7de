"""Action, util and memory spaces: folder trees of metadata that routers walk."""

from swarm_star.spaces.loader import ROOT_FOLDER_ID, Space, find_space_dir, load_space
from swarm_star.spaces.spec import LeafSpec

__all__ = ["ROOT_FOLDER_ID", "LeafSpec", "Space", "find_space_dir", "load_space"]
