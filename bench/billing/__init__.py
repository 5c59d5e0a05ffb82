"""billing_api benchmark: ``python -m bench.billing``."""
