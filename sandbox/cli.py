"""`sandbox up`: serve a world in the foreground and write the settings that point at it."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path
from typing import Annotated

import typer
import uvloop
import yaml

from sandbox.runner import PortPlan, Sandbox, whois_services
from sandbox.testing import EXAMPLE_WORLD
from sandbox.world.generate import GeneratorLimitError, generate_world_dict, parse_generate_spec
from sandbox.world.load import load_world, world_from_dict
from sandbox.world.model import World, WorldError

sandbox_app = typer.Typer(
    name="sandbox",
    help="A simulated internet on loopback: DNS, WHOIS, RDAP, web hosts and mailboxes.",
    no_args_is_help=True,
)


@sandbox_app.callback()
def _group() -> None:
    """A simulated internet on loopback for the demo, tests and benchmarks."""


def _world(world: Path | None, generate: str | None) -> World:
    if world is not None and generate is not None:
        raise typer.BadParameter("give --world or --generate, not both")
    try:
        if generate is not None:
            return world_from_dict(
                generate_world_dict(*parse_generate_spec(generate)), where="generated"
            )
        return load_world(world or EXAMPLE_WORLD)
    except (WorldError, GeneratorLimitError, OSError) as error:
        raise typer.BadParameter(str(error)) from error


@sandbox_app.command()
def up(
    world: Annotated[
        Path | None, typer.Option(help="World file (default: the example world).")
    ] = None,
    generate: Annotated[
        str | None,
        typer.Option(help="Generate a world instead: SEED,PROVIDERS,URLS (e.g. 7,50,100000)."),
    ] = None,
    env_file: Annotated[Path, typer.Option(help="Where to write the TAKEDOWN_* settings.")] = Path(
        ".env.sandbox"
    ),
    state_dir: Annotated[
        Path, typer.Option(help="Folder for the RDAP bootstrap, partner directory and reports.")
    ] = Path(".sandbox"),
    base_port: Annotated[
        int,
        typer.Option(
            help="Fixed ports from here (dns, rdap, smtp, inspect, then WHOIS from +10); 0: any."
        ),
    ] = 0,
    content_port: Annotated[
        int | None, typer.Option(help="Override the world's content port.")
    ] = None,
) -> None:
    """Start every server of the world in the foreground until interrupted."""
    chosen = _world(world, generate)
    started = time.perf_counter()
    names = [service.server_name for service in whois_services(chosen)]
    plan = PortPlan.from_base(base_port, names) if base_port else PortPlan()
    if content_port is not None:
        plan = PortPlan(plan.dns, plan.rdap, plan.smtp, plan.inspect, content_port, plan.whois)
    sandbox = Sandbox(chosen, state_dir, ports=plan)
    with contextlib.suppress(KeyboardInterrupt):
        # uvloop: the world's servers answer many thousands of requests a second in one
        # process, and its loop costs a fraction of the standard one's CPU per request.
        uvloop.run(_serve(sandbox, env_file, started))


async def _serve(sandbox: Sandbox, env_file: Path, started: float) -> None:
    await sandbox.start()
    try:
        sandbox.write_env(env_file)
        _announce(sandbox, env_file, time.perf_counter() - started)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await sandbox.close()
        typer.echo("sandbox stopped")


def _announce(sandbox: Sandbox, env_file: Path, seconds: float) -> None:
    world, ports = sandbox.world, sandbox.ports
    typer.echo(
        f"world {world.name!r}: {len(world.urls)} URLs, {len(world.domains)} domains, "
        f"{len(world.networks)} providers and CDNs; started in {seconds:.1f} s"
    )
    typer.echo(f"  DNS      127.0.0.1:{ports.dns} (UDP and TCP)")
    typer.echo(f"  RDAP     http://127.0.0.1:{ports.rdap}/")
    typer.echo(f"  SMTP     127.0.0.1:{ports.smtp}")
    typer.echo(
        f"  content  port {ports.content} on {len(sandbox.index.content_addresses)} addresses"
    )
    typer.echo(f"  inspect  {sandbox.env['TAKEDOWN_SANDBOX_INSPECT']}/urls")
    for name, port in ports.whois.items():
        typer.echo(f"  WHOIS    {name} -> 127.0.0.1:{port}")
    typer.echo(f"settings written to {env_file}; Ctrl-C stops the sandbox")


@sandbox_app.command("generate")
def generate_command(
    spec: Annotated[str, typer.Argument(help="SEED,PROVIDERS,URLS")],
    out: Annotated[Path, typer.Option(help="Where to write the world file.")],
) -> None:
    """Write a generated world as a world file (to read, edit or serve with --world)."""
    try:
        mapping = generate_world_dict(*parse_generate_spec(spec))
        world = world_from_dict(mapping, where="generated")
    except (WorldError, GeneratorLimitError) as error:
        raise typer.BadParameter(str(error)) from error
    for entry, url in zip(mapping["urls"], world.urls, strict=True):
        entry["sha256"] = url.sha256
    out.write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    typer.echo(f"wrote {out}: {len(world.urls)} URLs, {len(world.domains)} domains")
