"""The planner's HTTP routes; the rules they apply live in ``engine``."""
