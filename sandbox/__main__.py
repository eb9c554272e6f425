"""`python -m sandbox --port PORT`: run the sandbox Bot API server alone until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from aiohttp import web

from sandbox.limits import LimitSettings
from sandbox.server import create_app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", help="fix the bot's token (default: the first one seen)")
    parser.add_argument("--no-limits", action="store_true", help="turn the flood limits off")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Start the server, print its base URL, wait until cancelled."""
    limits = LimitSettings(enabled=not args.no_limits)
    runner = web.AppRunner(create_app(args.token, limits), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = runner.addresses[0][1]  # the real port when --port 0 asked for a free one
    print(f"http://{args.host}:{port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
