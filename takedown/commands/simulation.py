"""``takedown sandbox …``: the simulated internet on loopback."""

from __future__ import annotations

from sandbox.cli import sandbox_app
from takedown.app import app

app.add_typer(sandbox_app, name="sandbox")
