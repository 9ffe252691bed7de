"""Swarm primitives, usable on their own and from actions.

- :mod:`~swarm_star.primitives.fanout`: N candidates from one model, one synthesized answer.
- :mod:`~swarm_star.primitives.hostfile` and :mod:`~swarm_star.primitives.pool`:
  many endpoints listed in a hostfile, reached over one aiohttp session.
- :mod:`~swarm_star.primitives.patterns`: broadcast, scatter-gather,
  tree-reduce, blackboard, pipeline.
- :mod:`~swarm_star.primitives.aggregators`: votes, merges and statistics.
- :mod:`~swarm_star.primitives.stochastic`: StochasticSwarm's synchronous entry.

The seeds' names are accepted here: StochasticSwarm's ``stochasticswarm``,
``StochasticSwarmConfig`` and ``run_stochasticswarm``; Aurora-Swarm's
``AgentEndpoint``, ``AgentPool(endpoints, concurrency=…)``, ``pool.post``,
``broadcast_and_reduce`` and ``parse_hostfile("file")``.
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
from swarm_star.primitives.hostfile import Agent, AgentEndpoint, load_hostfile, parse_hostfile
from swarm_star.primitives.patterns import (
    PIPELINE_INPUTS,
    BlackboardResult,
    BroadcastResult,
    GroupFailure,
    PipelineResult,
    Stage,
    TreeReduceResult,
    blackboard,
    broadcast,
    broadcast_and_reduce,
    pipeline,
    scatter_gather,
    tree_reduce,
)
from swarm_star.primitives.pool import AgentPool, AgentReply, PoolSettings
from swarm_star.primitives.stochastic import StochasticSwarmConfig, run_stochasticswarm, stochasticswarm

__all__ = [
    "PIPELINE_INPUTS",
    "Agent",
    "AgentEndpoint",
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
    "StochasticSwarmConfig",
    "TreeReduceResult",
    "Vote",
    "best_of",
    "blackboard",
    "broadcast",
    "broadcast_and_reduce",
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
    "run_stochasticswarm",
    "scatter_gather",
    "stochasticswarm",
    "synthesize",
    "top_k",
    "tree_reduce",
]
