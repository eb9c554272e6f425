"""Shared fixtures: the sandbox Bot API server and its control client (tests/sandbox_support.py);
the watch on the one write path of routing state (tests/support/write_path.py)."""

pytest_plugins = ["tests.sandbox_support", "tests.support.write_path"]
