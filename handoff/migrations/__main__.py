"""`python -m handoff.migrations revision -m MESSAGE`: autogenerate the next migration.

The comparison runs against a scratch SQLite database brought to the newest revision, so no
real database is touched.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from alembic import command

from handoff.migrations import alembic_config, next_revision_id, upgrade


def revision(message: str) -> str | None:
    """Write the migration from the newest revision to `handoff/tables.py`; return its path.

    None when the two already agree.
    """
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite+aiosqlite:///{Path(scratch) / 'scratch.db'}"
        asyncio.run(upgrade(url))
        config = alembic_config(url)
        config.attributes["skip_empty"] = True
        script = command.revision(
            config, message=message, autogenerate=True, rev_id=next_revision_id(config)
        )
    if not script:
        return None
    if isinstance(script, list):
        raise RuntimeError(f"alembic wrote {len(script)} revisions; expected one")
    return script.path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handoff.migrations", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("revision", help="autogenerate a migration from handoff/tables.py")
    new.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)
    path = revision(args.message)
    if path is None:
        print("nothing to do: the migrations already build handoff/tables.py")
    else:
        print(f"wrote {path}; read it before committing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
