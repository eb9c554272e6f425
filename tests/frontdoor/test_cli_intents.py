"""`frontdoor intents test FILE.tsv`: the bot's reading of a labelled file, and its refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontdoor.cli import EXIT_OK, EXIT_USAGE, main

HELD_APART = Path(__file__).parents[1] / "intents" / "held_apart.tsv"


def test_a_labelled_file_gets_the_table_and_the_misses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labelled = tmp_path / "mine.tsv"
    labelled.write_text(
        "# our own test set\ngmn cara bayar tagihan\tpembayaran\nresep soto ayam dong\t-\n"
        "internet mati dari pagi\tpromo\n",
        encoding="utf-8",
    )

    assert main(["intents", "test", str(labelled)]) == EXIT_OK

    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["count", "right", "asked", "unknown", "wrong", "FAQ", "wrong"]
    assert out[1].split()[:4] == ["all", "messages", "3", "66.7%"]
    assert "  promo → gangguan  ×1  'internet mati dari pagi'" in out


def test_the_held_apart_set_runs_against_the_example_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["intents", "test", str(HELD_APART)]) == EXIT_OK
    assert "sharing no keyword" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("tagihan saya\n", "mine.tsv:1: expected TEXT<TAB>INTENT"),
        ("tagihan saya\tbilling\n", "mine.tsv:1: unknown intent 'billing'"),
        ("", "mine.tsv: no labelled messages"),
        (b"\xff\xfe\x00binary", "cannot read"),
    ],
)
def test_a_wrong_or_unreadable_file_is_refused_with_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes, complaint: str
) -> None:
    labelled = tmp_path / "mine.tsv"
    if isinstance(content, bytes):
        labelled.write_bytes(content)
    else:
        labelled.write_text(content, encoding="utf-8")

    assert main(["intents", "test", str(labelled)]) == EXIT_USAGE

    error = capsys.readouterr().err
    assert error.startswith("frontdoor intents test: ") and complaint in error


def test_a_missing_file_or_no_action_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["intents", "test", str(tmp_path / "nowhere.tsv")]) == EXIT_USAGE
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit) as raised:
        main(["intents"])
    assert raised.value.code == EXIT_USAGE
