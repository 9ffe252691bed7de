"""Test doubles for the *model*, kept apart from the library proper.

Nothing in the engine branches on these: they are real HTTP servers speaking
the OpenAI chat-completions protocol on 127.0.0.1, used by ``swarm-star demo``
(the scripted model), the test suite and the benchmarks. Doubles only tests and
benchmarks use (the agent farm, the random and answer-key models, the counting
proxy, the llama.cpp test server) live in ``tests/helpers/``, outside the wheel.
"""

from swarm_star.testing.openai_server import Fault, LocalOpenAIServer, Reply, Responder

__all__ = ["Fault", "LocalOpenAIServer", "Reply", "Responder"]
