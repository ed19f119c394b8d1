"""The project: what pyproject.toml declares, reading it, and the requirements it asks for."""
