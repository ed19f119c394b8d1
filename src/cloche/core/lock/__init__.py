"""The PEP 751 lockfile: built from resolutions, written, read, and chosen from."""
