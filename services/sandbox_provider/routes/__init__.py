"""The sandbox's routes: its Stripe-like API and the hosted pages a shopper sees."""
