"""The bot's one aiohttp server and what it serves: health, metrics and the managers' dashboard."""
