from gwstack.cli import app

app()
