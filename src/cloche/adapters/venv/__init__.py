"""Virtual environments made directly (no ``python -m venv``), and their activation scripts."""
