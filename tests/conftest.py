"""Shared fixtures: the sandbox Bot API server and its control client (tests/sandbox_support.py)."""

pytest_plugins = ["tests.sandbox_support"]
