"""The public Python API: the one door for the CLI, the HTTP server and library users.

See :mod:`swarm_star.api.swarm` for :class:`Swarm`.
"""

from swarm_star.api.swarm import ROOT_ID, Swarm, load_spaces, new_swarm_id

__all__ = ["ROOT_ID", "Swarm", "load_spaces", "new_swarm_id"]
