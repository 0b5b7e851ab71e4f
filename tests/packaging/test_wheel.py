"""The wheel, as an operator installs it: built from this tree, installed into a fresh virtual
environment, and run from there with nothing of the checkout on its path.

The fresh environment sees the test environment's third-party packages through a path file, so
no download is needed; Takedown's own packages come only from the wheel (the checkout's editable
install is not visible: path files inside an added directory are not processed).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OUR_PACKAGES = ("settings", "urls", "hosting", "notices", "registry", "records", "flows", "web")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; its ``bin`` folder."""
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(root / "dist"),
            str(REPO),
        ],
        check=True,
        cwd=root,
    )
    (wheel,) = (root / "dist").glob("takedown-*.whl")
    env_dir = root / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The test environment's third-party packages, without its site hooks.
    Path(purelib, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            str(wheel),
        ],
        check=True,
        cwd=root,
    )
    return env_dir / "bin"


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAKEDOWN_", "PYTHON"))}
    env["HOME"] = str(home)
    return env


def test_the_packages_come_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    code = "import importlib; print('\\n'.join(importlib.import_module(p).__file__ for p in %r))"
    out = subprocess.run(
        [installed / "python", "-c", code % (OUR_PACKAGES,)],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(tmp_path),
    ).stdout.split()
    assert len(out) == len(OUR_PACKAGES)
    for location in out:
        assert Path(location).is_relative_to(installed.parent), location


def test_takedown_help_runs_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [installed / "takedown", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    for command in ("run", "intake", "cases", "serve", "records"):
        assert command in result.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(installed: Path, tmp_path: Path) -> Iterator[str]:
    env = _clean_env(tmp_path) | {
        "TAKEDOWN_DATABASE_URL": f"sqlite:///{tmp_path / 'takedown.db'}",
        "TAKEDOWN_COOKIE_SECURE": "false",
    }
    subprocess.run([installed / "takedown", "db", "upgrade"], check=True, cwd=tmp_path, env=env)
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [installed / "takedown", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert server.poll() is None, log.read_text()
            try:
                urllib.request.urlopen(f"{base}/sign-in", timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_installed_web_app_serves_its_sign_in_page_and_static_files(served: str) -> None:
    with urllib.request.urlopen(f"{served}/sign-in", timeout=5) as page:
        assert page.status == 200
        html = page.read().decode()
    assert "<form" in html and 'name="password"' in html
    assert "/static/site.css" in html
    with urllib.request.urlopen(f"{served}/static/site.css", timeout=5) as css:
        assert css.status == 200
        assert len(css.read()) > 100
