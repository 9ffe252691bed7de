"""Swarm primitives, usable on their own and from actions.

- :mod:`~swarm_star.primitives.fanout`: N candidates from one model, one synthesized answer.
- :mod:`~swarm_star.primitives.hostfile` and :mod:`~swarm_star.primitives.pool`:
  many endpoints listed in a hostfile, reached over one aiohttp session.
- :mod:`~swarm_star.primitives.patterns`: broadcast, scatter-gather,
  tree-reduce, blackboard, pipeline.
- :mod:`~swarm_star.primitives.aggregators`: votes, merges and statistics.
"""

from swarm_star.primitives.aggregators import (
    FailureReport,
    JsonMerge,
    NumericStats,
    Vote,
    best_of,
    concat,
    failure_report,
    majority_vote,
    merge_json,
    numeric_stats,
    top_k,
)
from swarm_star.primitives.fanout import Candidate, FanoutOptions, FanoutResult, client_ask, fanout, synthesize
from swarm_star.primitives.hostfile import Agent, load_hostfile, parse_hostfile
from swarm_star.primitives.patterns import (
    BlackboardResult,
    BroadcastResult,
    GroupFailure,
    PipelineResult,
    Stage,
    TreeReduceResult,
    blackboard,
    broadcast,
    pipeline,
    scatter_gather,
    tree_reduce,
)
from swarm_star.primitives.pool import AgentPool, AgentReply, PoolSettings

__all__ = [
    "Agent",
    "AgentPool",
    "AgentReply",
    "BlackboardResult",
    "BroadcastResult",
    "Candidate",
    "FailureReport",
    "FanoutOptions",
    "FanoutResult",
    "GroupFailure",
    "JsonMerge",
    "NumericStats",
    "PipelineResult",
    "PoolSettings",
    "Stage",
    "TreeReduceResult",
    "Vote",
    "best_of",
    "blackboard",
    "broadcast",
    "client_ask",
    "concat",
    "failure_report",
    "fanout",
    "load_hostfile",
    "majority_vote",
    "merge_json",
    "numeric_stats",
    "parse_hostfile",
    "pipeline",
    "scatter_gather",
    "synthesize",
    "top_k",
    "tree_reduce",
]
