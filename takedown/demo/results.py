"""The demo folder as a place to look at the results: a ``.env`` for ``takedown`` commands run
there, next to the database, the partner directory and the mail the world received."""

from __future__ import annotations

import os
from pathlib import Path

from records.signing import new_private_key

DATABASE_NAME = "takedown-demo.db"
DIRECTORY_NAME = "directory.yaml"
OUTBOX_NAME = "outbox"
MAIL_NAME = "mail"


def write_results_env(folder: Path) -> Path:
    """Write ``folder/.env``: the demo's database, directory and outbox, relative to the
    folder, and a signing key of its own for evidence bundles. Readable by the owner only."""
    lines = [
        "# The demo's results, for takedown commands run from this folder:",
        "#   takedown stats / takedown cases / takedown case show 12 / takedown blocklist",
        "#   takedown records export --case 12 --out TD-000012.zip",
        "# The sandbox's servers stop with the demo, so nothing here points at them.",
        f"TAKEDOWN_DATABASE_URL=sqlite:///{DATABASE_NAME}",
        f"TAKEDOWN_DIRECTORY={DIRECTORY_NAME}",
        f"TAKEDOWN_OUTBOX_DIR={OUTBOX_NAME}",
        "# Made for this demo only: it signs the evidence bundles exported from here.",
        f"TAKEDOWN_SIGNING_KEY={new_private_key()}",
    ]
    path = folder / ".env"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # also when an earlier demo left one behind
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path
