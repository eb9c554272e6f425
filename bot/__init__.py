"""Frontdoor: the customer-facing bot (Telegram wiring, conversation, CLI)."""
