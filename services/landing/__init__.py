"""The web face: pricing, sign-in, checkout pages, the account page and the planner app."""
