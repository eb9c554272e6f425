"""Which customer an agent's message is for: the rules of `handoff.focus`, case by case."""

from __future__ import annotations

from handoff.focus import Route, Target, choose_target


def test_a_reply_goes_to_the_chat_it_replies_to_whatever_has_the_focus() -> None:
    assert choose_target(replied_to=7, focus=9, open_chats=[7, 9]) == Target(Route.SEND, 7)


def test_a_reply_to_a_chat_no_longer_held_is_refused_not_redirected() -> None:
    assert choose_target(replied_to=7, focus=9, open_chats=[9]) == Target(Route.NOT_YOURS, 7)


def test_an_unaddressed_message_goes_to_the_focused_chat() -> None:
    assert choose_target(replied_to=None, focus=9, open_chats=[7, 9]) == Target(Route.SEND, 9)


def test_with_one_chat_there_is_nothing_to_ask() -> None:
    assert choose_target(replied_to=None, focus=3, open_chats=[7]) == Target(Route.SEND, 7)


def test_a_stale_focus_with_several_chats_asks() -> None:
    assert choose_target(replied_to=None, focus=3, open_chats=[7, 9]) == Target(
        Route.ASK, choices=(7, 9)
    )


def test_no_chat_no_send() -> None:
    assert choose_target(replied_to=None, focus=None, open_chats=[]) == Target(Route.NO_CHAT)


def test_a_reply_to_a_bot_message_that_names_no_chat_asks_rather_than_guess() -> None:
    assert choose_target(replied_to=None, focus=9, open_chats=[9], unplaced_reply=True) == Target(
        Route.ASK, choices=(9,)
    )
