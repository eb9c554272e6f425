"""What a card shows and what the group gets next (`agents_app.cards`), without Telegram."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from agents_app.cards import (
    DIGEST_MAX,
    DirtyCard,
    Edit,
    Forget,
    Post,
    next_send,
    render,
    render_card,
)
from agents_app.views import CardView, Person
from handoff.states import ConversationState as C
from tests.support.desk import desk_config

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # 10:00 WIB
SARI = Person(1001, "Sari Wulandari", "sari_nusanet")
WAITING = CardView(
    conversation_id=12,
    state=C.OFFERED,
    customer_id=42,
    customer_name="Ani",
    language="id",
    is_vip=True,
    intent="tagihan",
    team="billing",
    priority=6,
    is_lead=False,
    first_message="tagihan saya  salah\nbulan ini",
    queued_at=NOW - timedelta(minutes=2),
    not_before=None,
    open_to_anyone=False,
    attempts=1,
    offered_to=SARI,
    offer_deadline=NOW + timedelta(seconds=45),
    holder=None,
    close_reason=None,
    closed_at=None,
)
CONFIG = desk_config()


def test_a_waiting_card_shows_who_what_since_when_and_the_offer_with_a_claim_button() -> None:
    text, buttons = render_card(WAITING, CONFIG, NOW)

    assert text == (
        "#12 · Ani ⭐ VIP\n"
        "id · Billing · tagihan · P6 · existing\n"
        "💬 “tagihan saya salah bulan ini”\n"
        "🕒 waiting since 09:58\n"
        "👉 offered to @sari_nusanet until 10:00:45"
    )
    assert buttons == [[("✋ Claim #12", "claim:12")]]


def test_a_claimed_or_closed_card_has_no_button() -> None:
    claimed = replace(WAITING, state=C.ASSIGNED, holder=SARI, offered_to=None)
    closed = replace(WAITING, state=C.CLOSED, close_reason="customer_cancel")

    assert render_card(claimed, CONFIG, NOW)[0].endswith("✅ claimed by @sari_nusanet")
    assert render_card(closed, CONFIG, NOW)[0].endswith("✖️ the customer left")
    assert render_card(claimed, CONFIG, NOW)[1] == render_card(closed, CONFIG, NOW)[1] == []


def test_a_chat_held_for_the_opening_says_when_and_an_open_one_says_anyone_may_claim() -> None:
    held = replace(WAITING, state=C.QUEUED, offered_to=None, not_before=NOW + timedelta(hours=22))
    anyone = replace(WAITING, state=C.QUEUED, offered_to=None, open_to_anyone=True)

    shown = render_card(held, CONFIG, NOW)[0]  # a day later: the day is named, not "tomorrow"
    assert "🌙 after hours: waits for Billing to open Wednesday 25 Nov 08:00" in shown
    assert "🙋 open to anyone: claim it" in render_card(anyone, CONFIG, NOW)[0]


def test_several_chats_make_one_digest_with_a_button_per_waiting_chat() -> None:
    chats = [replace(WAITING, conversation_id=i) for i in range(1, 5)]
    chats[3] = replace(chats[3], state=C.ASSIGNED, holder=SARI)

    text, buttons = render(chats, CONFIG, NOW)

    assert text.startswith("🆕 4 chats arrived together (3 still waiting)")
    assert [data for row in buttons for _, data in row] == ["claim:1", "claim:2", "claim:3"]


def test_cards_never_shown_go_first_several_as_one_digest_then_edits() -> None:
    dirty = [DirtyCard(i, None, True) for i in range(1, DIGEST_MAX + 3)]

    assert next_send(dirty) == Post(tuple(range(1, DIGEST_MAX + 1)))
    assert next_send([DirtyCard(5, 900, True), DirtyCard(6, None, True)]) == Post((6,))
    assert next_send([DirtyCard(5, 900, False)]) == Edit(900)
    assert next_send([]) is None


def test_a_chat_that_stopped_waiting_before_its_card_went_out_is_never_shown() -> None:
    assert next_send([DirtyCard(5, None, False), DirtyCard(6, None, True)]) == Forget((5,))


def test_a_digest_of_long_names_drops_the_first_messages_to_stay_within_telegrams_4096() -> None:
    chats = [
        replace(WAITING, conversation_id=i, customer_name="N" * 64, first_message="x" * 300)
        for i in range(1, DIGEST_MAX + 1)
    ]

    text, _ = render(chats, CONFIG, NOW)

    assert len(text) <= 4096
    assert "💬" not in text
