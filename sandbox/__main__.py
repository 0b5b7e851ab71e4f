"""`python -m sandbox up`: the sandbox CLI without the engine's shell."""

from sandbox.cli import sandbox_app

sandbox_app(prog_name="sandbox")
