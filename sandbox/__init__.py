"""A local Telegram Bot API server for tests, demos and benchmarks (SPEC §7)."""
