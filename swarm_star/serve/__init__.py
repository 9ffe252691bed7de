"""The HTTP server: REST + Server-Sent Events over a swarm space, and the web view.

Start it with ``swarm-star serve``; embed it with :func:`create_app` (any ASGI
server). Needs the ``serve`` extra (Starlette, uvicorn, sse-starlette).
"""

from swarm_star.serve.app import create_app

__all__ = ["create_app"]
