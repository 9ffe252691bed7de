"""``python -m swarm_star`` runs the command line."""

from swarm_star.cli import run_main

run_main()
