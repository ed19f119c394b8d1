"""The ML build catalog as data (``catalog.toml``) and the pure logic that picks, for a
machine, the torch / TensorFlow / JAX build it can run. Import the submodules."""
