"""Test doubles for the *model*, kept apart from the library proper.

Nothing in the engine branches on these: they are real HTTP servers speaking
the OpenAI chat-completions protocol on 127.0.0.1, used by the test suite,
the benchmarks and ``swarm-star demo``.
"""

from swarm_star.testing.openai_server import Fault, LocalOpenAIServer, Reply, Responder

__all__ = ["Fault", "LocalOpenAIServer", "Reply", "Responder"]
