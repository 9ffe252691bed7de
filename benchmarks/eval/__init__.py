"""``python -m benchmarks.eval``: the old name of ``swarm-star eval`` (``swarm_star/evaluation``).

Kept as a thin alias while other branches still call it; see ``__main__.py``.
"""
