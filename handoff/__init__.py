"""Routing core: states, policies, queue, schedules, storage and timers. No Telegram imports."""
