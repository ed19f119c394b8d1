"""Bridges to the systems that run cloche envs (Ray); nothing in cloche imports them."""
