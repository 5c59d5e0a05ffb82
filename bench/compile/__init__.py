"""Plan compiler benchmark: ``python -m bench.compile``."""
