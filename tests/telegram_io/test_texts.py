"""One text system: the shipped catalog, the config's messages over it, the reader's language."""

from __future__ import annotations

import string

from handoff.config import Config
from handoff.config_loader import load_config
from telegram_io.texts import LANGUAGES, catalog, say, spell_wait
from tests.support.frontdoor import EXAMPLE


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def with_messages(**by_language: dict[str, str]) -> Config:
    data = load_config(EXAMPLE).model_dump()
    for language, messages in by_language.items():
        data["messages"][language] |= messages
    return Config.model_validate(data)


def test_every_catalog_text_is_in_both_languages_with_the_same_placeholders() -> None:
    shipped = catalog()
    assert set(shipped) == set(LANGUAGES)
    assert shipped["id"].keys() == shipped["en"].keys()
    for key, english in shipped["en"].items():
        assert english.strip(), key
        assert placeholders(shipped["id"][key]) == placeholders(english), key


def test_catalog_keys_do_not_collide_with_the_customers_messages() -> None:
    customers = load_config(EXAMPLE).messages["en"]
    assert not set(catalog()["en"]) & set(customers)


def test_a_text_comes_in_the_language_asked_for_filled_in() -> None:
    config = load_config(EXAMPLE)
    assert say(config, "en", "noted", id=12) == "Noted on #12 (the customer does not see notes)."
    assert say(config, "id", "noted", id=12) == "Dicatat di #12 (pelanggan tidak melihat catatan)."


def test_the_configs_messages_override_the_catalog_in_that_language_only() -> None:
    config = with_messages(en={"nobody_waiting": "Queue is empty, enjoy the quiet."})
    assert say(config, "en", "nobody_waiting") == "Queue is empty, enjoy the quiet."
    assert say(config, "id", "nobody_waiting") == "Tidak ada yang menunggu."


def test_an_unknown_key_is_shown_as_itself_and_a_misspelt_placeholder_is_left() -> None:
    config = load_config(EXAMPLE)
    assert say(config, "en", "no_such_text") == "no_such_text"
    assert (
        say(config, "en", "noted", number=12) == "Noted on #{id} (the customer does not see notes)."
    )


def test_a_wait_is_spelt_about_or_as_a_lower_bound_in_each_language() -> None:
    assert spell_wait(300, "id") == "±5 menit"
    assert spell_wait(300, "en") == "about 5 min"
    assert spell_wait(3 * 3600, "en", at_least=True) == "more than 3 h"
    assert spell_wait(600, "id", at_least=True) == "lebih dari 10 menit"
    assert spell_wait(None, "en", at_least=True) == "not known yet"
