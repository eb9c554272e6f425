"""Frontdoor's assembly: the `frontdoor` command, the bootstrap that wires both sides, the web server."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("frontdoor")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
