"""Parameters of the implemented Bot API methods: name → (Telegram types, required).

Kept in code so the server runs from an installed package without api.json; the conformance test
(tests/sandbox/test_conformance.py) checks this table against the Bot API spec field by field.
"""

Param = tuple[tuple[str, ...], bool]

INT = ("Integer",)
STR = ("String",)
BOOL = ("Boolean",)
FLOAT = ("Float",)
CHAT_ID = ("Integer", "String")
FILE = ("InputFile", "String")
INPUT_FILE = ("InputFile",)
STRINGS = ("Array of String",)
ENTITIES = ("Array of MessageEntity",)
BOT_COMMANDS = ("Array of BotCommand",)
COMMAND_SCOPE = ("BotCommandScope",)
LINK_PREVIEW = ("LinkPreviewOptions",)
SUGGESTED_POST = ("SuggestedPostParameters",)
REPLY_PARAMETERS = ("ReplyParameters",)
RICH_MESSAGE = ("InputRichMessage",)
INLINE_MARKUP = ("InlineKeyboardMarkup",)
INLINE_RESULTS = ("Array of InlineQueryResult",)
RESULTS_BUTTON = ("InlineQueryResultsButton",)
ANY_MARKUP = ("InlineKeyboardMarkup", "ReplyKeyboardMarkup", "ReplyKeyboardRemove", "ForceReply")

METHOD_PARAMS: dict[str, dict[str, Param]] = {
    "getMe": {},
    "getUpdates": {
        "offset": (INT, False),
        "limit": (INT, False),
        "timeout": (INT, False),
        "allowed_updates": (STRINGS, False),
    },
    "setWebhook": {
        "url": (STR, True),
        "certificate": (INPUT_FILE, False),
        "ip_address": (STR, False),
        "max_connections": (INT, False),
        "allowed_updates": (STRINGS, False),
        "drop_pending_updates": (BOOL, False),
        "secret_token": (STR, False),
    },
    "deleteWebhook": {
        "drop_pending_updates": (BOOL, False),
    },
    "getWebhookInfo": {},
    "sendMessage": {
        "business_connection_id": (STR, False),
        "chat_id": (CHAT_ID, True),
        "message_thread_id": (INT, False),
        "direct_messages_topic_id": (INT, False),
        "text": (STR, True),
        "parse_mode": (STR, False),
        "entities": (ENTITIES, False),
        "link_preview_options": (LINK_PREVIEW, False),
        "disable_notification": (BOOL, False),
        "protect_content": (BOOL, False),
        "allow_paid_broadcast": (BOOL, False),
        "message_effect_id": (STR, False),
        "suggested_post_parameters": (SUGGESTED_POST, False),
        "reply_parameters": (REPLY_PARAMETERS, False),
        "reply_markup": (ANY_MARKUP, False),
    },
    "editMessageText": {
        "business_connection_id": (STR, False),
        "chat_id": (CHAT_ID, False),
        "message_id": (INT, False),
        "inline_message_id": (STR, False),
        "text": (STR, False),
        "parse_mode": (STR, False),
        "entities": (ENTITIES, False),
        "link_preview_options": (LINK_PREVIEW, False),
        "rich_message": (RICH_MESSAGE, False),
        "reply_markup": (INLINE_MARKUP, False),
    },
    "editMessageReplyMarkup": {
        "business_connection_id": (STR, False),
        "chat_id": (CHAT_ID, False),
        "message_id": (INT, False),
        "inline_message_id": (STR, False),
        "reply_markup": (INLINE_MARKUP, False),
    },
    "deleteMessage": {
        "chat_id": (CHAT_ID, True),
        "message_id": (INT, True),
    },
    "answerCallbackQuery": {
        "callback_query_id": (STR, True),
        "text": (STR, False),
        "show_alert": (BOOL, False),
        "url": (STR, False),
        "cache_time": (INT, False),
    },
    "answerInlineQuery": {
        "inline_query_id": (STR, True),
        "results": (INLINE_RESULTS, True),
        "cache_time": (INT, False),
        "is_personal": (BOOL, False),
        "next_offset": (STR, False),
        "button": (RESULTS_BUTTON, False),
    },
    "copyMessage": {
        "chat_id": (CHAT_ID, True),
        "message_thread_id": (INT, False),
        "direct_messages_topic_id": (INT, False),
        "from_chat_id": (CHAT_ID, True),
        "message_id": (INT, True),
        "video_start_timestamp": (INT, False),
        "caption": (STR, False),
        "parse_mode": (STR, False),
        "caption_entities": (ENTITIES, False),
        "show_caption_above_media": (BOOL, False),
        "disable_notification": (BOOL, False),
        "protect_content": (BOOL, False),
        "allow_paid_broadcast": (BOOL, False),
        "message_effect_id": (STR, False),
        "suggested_post_parameters": (SUGGESTED_POST, False),
        "reply_parameters": (REPLY_PARAMETERS, False),
        "reply_markup": (ANY_MARKUP, False),
    },
    "forwardMessage": {
        "chat_id": (CHAT_ID, True),
        "message_thread_id": (INT, False),
        "direct_messages_topic_id": (INT, False),
        "from_chat_id": (CHAT_ID, True),
        "video_start_timestamp": (INT, False),
        "disable_notification": (BOOL, False),
        "protect_content": (BOOL, False),
        "message_effect_id": (STR, False),
        "suggested_post_parameters": (SUGGESTED_POST, False),
        "message_id": (INT, True),
    },
    "sendPhoto": {
        "business_connection_id": (STR, False),
        "chat_id": (CHAT_ID, True),
        "message_thread_id": (INT, False),
        "direct_messages_topic_id": (INT, False),
        "photo": (FILE, True),
        "caption": (STR, False),
        "parse_mode": (STR, False),
        "caption_entities": (ENTITIES, False),
        "show_caption_above_media": (BOOL, False),
        "has_spoiler": (BOOL, False),
        "disable_notification": (BOOL, False),
        "protect_content": (BOOL, False),
        "allow_paid_broadcast": (BOOL, False),
        "message_effect_id": (STR, False),
        "suggested_post_parameters": (SUGGESTED_POST, False),
        "reply_parameters": (REPLY_PARAMETERS, False),
        "reply_markup": (ANY_MARKUP, False),
    },
    "sendDocument": {
        "business_connection_id": (STR, False),
        "chat_id": (CHAT_ID, True),
        "message_thread_id": (INT, False),
        "direct_messages_topic_id": (INT, False),
        "document": (FILE, True),
        "thumbnail": (FILE, False),
        "caption": (STR, False),
        "parse_mode": (STR, False),
        "caption_entities": (ENTITIES, False),
        "disable_content_type_detection": (BOOL, False),
        "disable_notification": (BOOL, False),
        "protect_content": (BOOL, False),
        "allow_paid_broadcast": (BOOL, False),
        "message_effect_id": (STR, False),
        "suggested_post_parameters": (SUGGESTED_POST, False),
        "reply_parameters": (REPLY_PARAMETERS, False),
        "reply_markup": (ANY_MARKUP, False),
    },
    "sendVoice": {
        "business_connection_id": (STR, False),
        "chat_id": (CHAT_ID, True),
        "message_thread_id": (INT, False),
        "direct_messages_topic_id": (INT, False),
        "voice": (FILE, True),
        "caption": (STR, False),
        "parse_mode": (STR, False),
        "caption_entities": (ENTITIES, False),
        "duration": (INT, False),
        "disable_notification": (BOOL, False),
        "protect_content": (BOOL, False),
        "allow_paid_broadcast": (BOOL, False),
        "message_effect_id": (STR, False),
        "suggested_post_parameters": (SUGGESTED_POST, False),
        "reply_parameters": (REPLY_PARAMETERS, False),
        "reply_markup": (ANY_MARKUP, False),
    },
    "sendSticker": {
        "business_connection_id": (STR, False),
        "chat_id": (CHAT_ID, True),
        "message_thread_id": (INT, False),
        "direct_messages_topic_id": (INT, False),
        "sticker": (FILE, True),
        "emoji": (STR, False),
        "disable_notification": (BOOL, False),
        "protect_content": (BOOL, False),
        "allow_paid_broadcast": (BOOL, False),
        "message_effect_id": (STR, False),
        "suggested_post_parameters": (SUGGESTED_POST, False),
        "reply_parameters": (REPLY_PARAMETERS, False),
        "reply_markup": (ANY_MARKUP, False),
    },
    "sendLocation": {
        "business_connection_id": (STR, False),
        "chat_id": (CHAT_ID, True),
        "message_thread_id": (INT, False),
        "direct_messages_topic_id": (INT, False),
        "latitude": (FLOAT, True),
        "longitude": (FLOAT, True),
        "horizontal_accuracy": (FLOAT, False),
        "live_period": (INT, False),
        "heading": (INT, False),
        "proximity_alert_radius": (INT, False),
        "disable_notification": (BOOL, False),
        "protect_content": (BOOL, False),
        "allow_paid_broadcast": (BOOL, False),
        "message_effect_id": (STR, False),
        "suggested_post_parameters": (SUGGESTED_POST, False),
        "reply_parameters": (REPLY_PARAMETERS, False),
        "reply_markup": (ANY_MARKUP, False),
    },
    "sendChatAction": {
        "business_connection_id": (STR, False),
        "chat_id": (CHAT_ID, True),
        "message_thread_id": (INT, False),
        "action": (STR, True),
    },
    "getFile": {
        "file_id": (STR, True),
    },
    "pinChatMessage": {
        "business_connection_id": (STR, False),
        "chat_id": (CHAT_ID, True),
        "message_id": (INT, True),
        "disable_notification": (BOOL, False),
    },
    "unpinChatMessage": {
        "business_connection_id": (STR, False),
        "chat_id": (CHAT_ID, True),
        "message_id": (INT, False),
    },
    "setMyCommands": {
        "commands": (BOT_COMMANDS, True),
        "scope": (COMMAND_SCOPE, False),
        "language_code": (STR, False),
    },
    "getMyCommands": {
        "scope": (COMMAND_SCOPE, False),
        "language_code": (STR, False),
    },
    "deleteMyCommands": {
        "scope": (COMMAND_SCOPE, False),
        "language_code": (STR, False),
    },
    "getChat": {
        "chat_id": (CHAT_ID, True),
    },
    "getChatMember": {
        "chat_id": (CHAT_ID, True),
        "user_id": (INT, True),
    },
    "leaveChat": {
        "chat_id": (CHAT_ID, True),
    },
}
