"""Canned replies: the config's rules for them, and filling `!keys` in the customer's language."""

from pathlib import Path

import pytest

from handoff import canned
from handoff.config import Config
from handoff.config_loader import ConfigError, load_config, parse_config
from tests.handoff.test_config_loader import MINIMAL

EXAMPLE = Path(__file__).parents[2] / "config" / "frontdoor.yaml"

REPLIES = """\
replies:
  halo:
    title: {id: Salam, en: Greeting}
    text:
      id: "Halo {customer}, saya {agent} dari {team}."
      en: "Hello {customer}, this is {agent} from {team}."
  nomor:
    title: {id: Minta nomor pelanggan, en: Ask for the customer number}
    text: {id: "Nomor pelanggan Anda berapa? (tiket #{id})", en: "What is your customer number? (ticket #{id})"}
    keywords: {id: [nomor pelanggan], en: [customer number]}
  restart_modem:
    title: {id: Restart modem, en: Restart the modem}
    text: {id: "Matikan modem 2 menit.", en: "Switch the modem off for 2 minutes."}
"""
VALUES = {"customer": "Budi", "agent": "Sari", "team": "Billing", "id": 12}


def config_with(replies: str = REPLIES) -> Config:
    return parse_config(MINIMAL + replies, "config/frontdoor.yaml")


def problems(replies: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config_with(replies)
    return str(caught.value).splitlines()


# ---- the config ------------------------------------------------------------------------------


def test_the_example_ships_at_least_ten_replies_in_both_languages() -> None:
    config = load_config(EXAMPLE)
    assert len(config.replies) >= 10
    for key, reply in config.replies.items():
        assert set(reply.text) == set(reply.title) == {"id", "en"}
        for language in ("id", "en"):
            filled = canned.text_of(config, canned.reply_ref(key), language, VALUES)
            assert filled and "{" not in filled


def test_a_reply_missing_a_language_is_reported_at_its_line() -> None:
    found = problems(
        "replies:\n  halo:\n    title: {id: Salam, en: Greeting}\n    text: {id: Halo}\n"
    )
    assert found == [
        "frontdoor.yaml:38 replies.halo.text: needs a text in each language; missing: en"
    ]


def test_an_empty_text_counts_as_missing() -> None:
    found = problems(
        'replies:\n  halo:\n    title: {id: Salam, en: ""}\n    text: {id: Halo, en: Hello}\n'
    )
    assert found == [
        "frontdoor.yaml:37 replies.halo.title: needs a text in each language; missing: en"
    ]


def test_an_unknown_variable_is_reported_with_the_ones_allowed() -> None:
    found = problems(
        "replies:\n  halo:\n    title: {id: Salam, en: Hi}\n"
        '    text: {id: "Halo {nama}", en: "Hello {customer}"}\n'
    )
    assert found == [
        "frontdoor.yaml:38 replies.halo.text: id: unknown variable {nama}; "
        "a reply may use {customer} {agent} {team} {id}"
    ]


@pytest.mark.parametrize("text", ["Halo {customer", "Halo {customer!r}", "Halo {id:>5}", "{}"])
def test_a_malformed_variable_is_reported(text: str) -> None:
    found = problems(
        "replies:\n  halo:\n    title: {id: Salam, en: Hi}\n"
        f'    text: {{id: "{text}", en: "Hello"}}\n'
    )
    assert len(found) == 1 and found[0].startswith("frontdoor.yaml:38 replies.halo.text: id: ")


@pytest.mark.parametrize("key", ["Halo", "halo lagi", "-halo", "h" * 33, "halo!"])
def test_a_key_agents_could_not_type_is_reported(key: str) -> None:
    found = problems(
        f"replies:\n  '{key}':\n    title: {{id: Salam, en: Hi}}\n    text: {{id: Halo, en: Hello}}\n"
    )
    assert found == [
        f"frontdoor.yaml:36 replies.{key}: invalid key {key!r}: a reply's key is what agents "
        "type after !: lowercase letters, digits, _ and -, at most 32"
    ]


def test_an_unknown_field_of_a_reply_is_reported() -> None:
    found = problems(
        "replies:\n  halo:\n    title: {id: Salam, en: Hi}\n    text: {id: Halo, en: Hello}\n"
        "    video: halo.mp4\n"
    )
    assert found == [
        "frontdoor.yaml:39 replies.halo.video: unknown key "
        "(allowed: title, text, keywords, photo, document)"
    ]


# ---- a reply's file ----------------------------------------------------------------------------

WITH_FILE = "replies:\n  foto:\n    title: {id: Foto, en: Photo}\n    text: {id: Ini, en: This}\n"


def file_problems(tmp_path: Path, lines: str) -> list[str]:
    path = tmp_path / "frontdoor.yaml"
    path.write_text(MINIMAL + WITH_FILE + lines)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value).splitlines()


def test_a_replys_file_is_found_in_the_configs_folder_and_made_absolute(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "modem.png").write_bytes(b"\x89PNG")
    path = tmp_path / "frontdoor.yaml"
    path.write_text(MINIMAL + WITH_FILE + "    photo: media/modem.png\n")
    config = load_config(path)
    assert config.replies["foto"].attachment == ("photo", str(tmp_path / "media" / "modem.png"))
    expanded = canned.expand(config, "!foto", "en", VALUES)
    assert (expanded.text, expanded.files) == ("This", (config.replies["foto"].attachment,))


def test_a_missing_file_is_reported_at_its_line(tmp_path: Path) -> None:
    assert file_problems(tmp_path, "    document: panduan.pdf\n") == [
        f"frontdoor.yaml:39 replies.foto.document: no such file: 'panduan.pdf' (looked in {tmp_path})"
    ]


def test_a_file_outside_the_configs_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("x")
    inner = tmp_path / "config"
    inner.mkdir()
    path = inner / "frontdoor.yaml"
    path.write_text(MINIMAL + WITH_FILE + "    document: ../secret.txt\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"frontdoor.yaml:39 replies.foto.document: '../secret.txt' is outside the config's "
        f"folder {inner}"
    )


def test_a_file_too_large_for_telegram_is_refused(tmp_path: Path) -> None:
    with (tmp_path / "big.jpg").open("wb") as big:
        big.truncate(10 * 1024 * 1024 + 1)  # sparse: no 10 MB written
    assert file_problems(tmp_path, "    photo: big.jpg\n") == [
        "frontdoor.yaml:39 replies.foto.photo: 'big.jpg' has 10,485,761 bytes; Telegram takes "
        "a photo of at most 10 MB"
    ]


def test_a_reply_sends_one_file_at_most(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"x")
    found = file_problems(tmp_path, "    photo: a.png\n    document: a.png\n")
    assert found == [
        "frontdoor.yaml:36 replies.foto: a reply sends one file: a photo or a document, not both"
    ]


def test_literal_braces_are_written_twice() -> None:
    config = config_with(
        "replies:\n  kode:\n    title: {id: Kode, en: Code}\n"
        '    text: {id: "Ketik {{OK}}", en: "Type {{OK}}"}\n'
    )
    assert canned.text_of(config, "r:kode", "en", VALUES) == "Type {OK}"


# ---- filling keys ----------------------------------------------------------------------------


def test_a_key_is_filled_in_the_customers_language_with_its_variables() -> None:
    found = canned.expand(config_with(), "!halo", "id", VALUES)
    assert found == canned.Expanded("Halo Budi, saya Sari dari Billing.", ("r:halo",))


def test_keys_and_free_text_mix_in_one_message() -> None:
    text = "!halo\nSebentar ya, saya cek dulu.\n!nomor !restart_modem"
    found = canned.expand(config_with(), text, "id", VALUES)
    assert found.text == (
        "Halo Budi, saya Sari dari Billing.\nSebentar ya, saya cek dulu.\n"
        "Nomor pelanggan Anda berapa? (tiket #12)\n\nMatikan modem 2 menit."
    )
    assert found.refs == ("r:halo", "r:nomor", "r:restart_modem")


def test_a_key_inside_a_sentence_is_replaced_where_it_stands() -> None:
    found = canned.expand(config_with(), "Tolong: !restart_modem, lalu kabari.", "en", VALUES)
    assert found.text == "Tolong: Switch the modem off for 2 minutes., lalu kabari."


def test_keys_are_matched_without_regard_to_case_and_a_repeat_is_one_ref() -> None:
    found = canned.expand(config_with(), "!HALO !Halo", "en", VALUES)
    assert found.refs == ("r:halo",)
    assert found.text.count("Hello Budi") == 2


def test_a_key_in_brackets_quotes_or_after_a_slash_is_a_key() -> None:
    found = canned.expand(config_with(), '(!restart_modem) "!halo"/!nomor', "en", VALUES)
    assert found.refs == ("r:restart_modem", "r:halo", "r:nomor")
    assert "!" not in found.text


@pytest.mark.parametrize("key", ["pénutup", "h" * 40, "halo_", "halo-lagi"])
def test_any_word_after_an_exclamation_mark_is_a_key_and_an_unknown_one_is_refused(
    key: str,
) -> None:
    found = canned.expand(config_with(), f"Kak, !{key} ya", "id", VALUES)
    assert found.unknown == (key,) and not found.canned


def test_an_exclamation_mark_that_is_not_a_key_is_left_alone() -> None:
    for text in ("Terima kasih!", "Wow!!", "harga 100! murah", "a!halo", "!", "!!", "! halo"):
        assert canned.expand(config_with(), text, "id", VALUES) == canned.Expanded(text)


def test_an_unknown_key_sends_nothing_and_names_the_nearest() -> None:
    config = config_with()
    found = canned.expand(config, "!hallo dan !nomor", "id", VALUES)
    assert found.unknown == ("hallo",) and not found.canned
    assert canned.nearest_keys(config, "hallo") == ["halo"]
    assert canned.nearest_keys(config, "restart") == ["restart_modem"]
    assert canned.nearest_keys(config, "zzzzzz") == []


def test_a_language_the_reply_lacks_falls_back_to_the_default() -> None:
    assert canned.text_of(config_with(), "r:halo", "jv", VALUES) == (
        "Halo Budi, saya Sari dari Billing."
    )


# ---- refs, titles and search -------------------------------------------------------------------


def test_refs_name_replies_and_faq_answers_that_exist() -> None:
    config = config_with()
    assert canned.exists(config, "r:halo")
    assert not canned.exists(config, "r:gone")
    assert not canned.exists(config, "f:tagihan")  # the minimal intent has no answer
    assert not canned.exists(config, "x:halo")
    assert canned.sendable(config, ["r:halo", "r:gone", "r:nomor", "r:halo"], {"r:nomor"}) == [
        "r:halo"
    ]
    assert canned.title_of(config, "r:nomor", "en") == "Ask for the customer number"
    assert canned.title_of(config, "r:gone", "en") is None


def test_search_finds_by_key_title_keyword_or_text_with_typos() -> None:
    config = config_with()
    assert canned.search(config, "")[:3] == ["r:halo", "r:nomor", "r:restart_modem"]
    assert canned.search(config, "modem")[0] == "r:restart_modem"
    assert canned.search(config, "nomer pelangan")[0] == "r:nomor"
    assert canned.search(config, "customer number")[0] == "r:nomor"
    assert canned.search(config, "qwertyuiop") == []


# ---- an agent's own snippets -------------------------------------------------------------------

OWN = {"jadwal": "Teknisi datang besok jam 9, {customer}.", "kode": "Kode: {x} {y}"}


def test_an_agents_snippet_is_sent_as_written_with_the_variables_a_reply_may_use() -> None:
    config = config_with()
    expanded = canned.expand(config, "!jadwal\nMaaf ya", "en", VALUES, OWN)
    assert expanded.text == "Teknisi datang besok jam 9, Budi.\nMaaf ya"
    assert expanded.refs == ("p:jadwal",)
    # braces that are not a reply's variables are the agent's own words, left alone
    assert canned.expand(config, "!kode", "id", VALUES, OWN).text == "Kode: {x} {y}"
    assert canned.as_template("{customer}: {x} {{id}} }{") == "{customer}: {{x}} {{{id}}} }}{{"


def test_a_teams_reply_comes_before_a_snippet_of_the_same_key() -> None:
    config = config_with()
    own = {"halo": "my own hello"}
    expanded = canned.expand(config, "!halo", "en", VALUES, own)
    assert expanded.refs == ("r:halo",)
    assert canned.text_of(config, "p:halo", "en", VALUES, own) is None
    assert canned.search(config, "", own)[:2] == ["r:halo", "r:nomor"]


def test_another_agents_snippet_is_unknown_and_the_nearest_keys_include_ones_own() -> None:
    config = config_with()
    assert canned.expand(config, "!jadwal", "id", VALUES).unknown == ("jadwal",)
    assert canned.nearest_keys(config, "jadwl", OWN) == ["jadwal"]


def test_search_lists_ones_snippets_first_then_the_teams() -> None:
    config = config_with()
    assert canned.search(config, "", OWN)[:3] == ["p:jadwal", "p:kode", "r:halo"]
    assert canned.search(config, "teknisi besok", OWN)[0] == "p:jadwal"
    assert (
        canned.title_of(config, "p:jadwal", "en", OWN) == "Teknisi datang besok jam 9, {customer}."
    )
    assert canned.sendable(config, ["p:jadwal", "p:gone", "r:halo"], ["r:halo"], OWN) == [
        "p:jadwal"
    ]
