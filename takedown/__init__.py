"""The command line: Typer commands over the engine's packages."""
