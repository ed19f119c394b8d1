"""cloche: a fast, reproducible, GPU-aware environment and package manager."""

__version__ = "0.1.0"
