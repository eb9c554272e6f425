"""nginx in front of several workers, with the upstream and location of config/nginx.conf."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from frontdoor.sandbox_command import free_port

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")


@contextlib.asynccontextmanager
async def nginx(directory: Path, ports: list[int]) -> AsyncIterator[int]:
    """nginx with config/nginx.conf's upstream and location, on a free port, without TLS."""
    sample = (ROOT / "config" / "nginx.conf").read_text()
    # A worker not yet listening is skipped for a second only (the sample: 5 s), so that
    # deliveries spread again soon after the workers have started one after another.
    servers = "".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=1s;\n" for port in ports
    )
    site = re.sub(
        r"(upstream frontdoor_workers \{\n)(    server .*\n)+", rf"\g<1>{servers}", sample
    )
    port = free_port("127.0.0.1")
    site = re.sub(r"\n\s*ssl_\w+ [^\n]*", "", site).replace(
        "listen 443 ssl;", f"listen 127.0.0.1:{port};"
    )
    (directory / "site.conf").write_text(site)
    for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / temp).mkdir(mode=0o777)
        (directory / temp).chmod(0o777)
    (directory / "nginx.conf").write_text(
        f"daemon off;\nworker_processes 1;\npid {directory}/nginx.pid;\n"
        f"error_log {directory}/error.log warn;\nevents {{ worker_connections 512; }}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {directory}/body;\n"
        f"  proxy_temp_path {directory}/proxy;\n  fastcgi_temp_path {directory}/fastcgi;\n"
        f"  uwsgi_temp_path {directory}/uwsgi;\n  scgi_temp_path {directory}/scgi;\n"
        f"  include {directory}/site.conf;\n}}\n"
    )
    assert NGINX is not None, "nginx is not installed (.ci/nginx.sh)"
    process = await asyncio.create_subprocess_exec(
        NGINX, "-p", str(directory), "-c", str(directory / "nginx.conf"),
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            assert process.returncode is None, (await process.stderr.read()).decode()  # type: ignore[union-attr]
            await asyncio.sleep(0.05)
        yield port
    finally:
        process.terminate()
        await process.wait()
