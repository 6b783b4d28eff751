"""Tools for demos, tests and benchmarks; never called by the API or the workers."""
