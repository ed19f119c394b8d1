"""``cloche doctor``: health checks of one Python environment (see ``registry``)."""
