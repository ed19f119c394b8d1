"""Jupyter kernelspecs: where they live and what they hold (no jupyter import needed)."""
