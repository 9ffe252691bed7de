"""What actions import: the helpers the installed and the swarm's own actions share."""
