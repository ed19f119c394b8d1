"""``cloche bundle``: a lock and its wheels, with a static index, for machines without a network."""
