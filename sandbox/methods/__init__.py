"""Bot API method handlers, one module per concern, gathered into one table."""

from sandbox.methods import chats, inline, media, messages, updates

HANDLERS = {
    **updates.HANDLERS,
    **messages.HANDLERS,
    **media.HANDLERS,
    **chats.HANDLERS,
    **inline.HANDLERS,
}
