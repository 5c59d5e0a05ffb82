"""sandbox_provider: a local, offline payment provider, like a provider's test mode.

Hosted checkout pages with test cards, a Stripe-like JSON API, signed webhooks
from a durable outbox, and a test clock that makes renewals, trials and dunning
happen on demand.
"""
