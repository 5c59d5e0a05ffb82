"""billing_api's HTTP routes, one module per resource; the rules they call live beside app.py."""
