"""How a swarm is shown to people: text for the terminal, the live tree, reports.

Shared by the CLI and the HTTP server, so the terminal, the web view and the
exported reports say the same things in the same words. Each submodule holds
one kind of rendering; import them directly (``from swarm_star.render.text
import render_tree``) so start-up stays light.
"""
