"""The Telegram plumbing both sides share: updates in (inbox, polling, webhook), calls out (stored
outbox, pacing, retries), the HTTP transport, message kinds and texts."""
