"""Turning what a plan installs into unpacked wheels in the store."""
