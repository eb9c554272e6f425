"""Loading config files: every problem is reported as `FILE:LINE path: message`."""

import itertools
import time
from pathlib import Path

import pytest

from handoff.config import Config
from handoff.config_loader import MAX_BYTES, ConfigError, load_config, parse_config

EXAMPLE = Path(__file__).parents[2] / "config" / "frontdoor.yaml"

# Line numbers in the tests below refer to this text.
MINIMAL = """\
schedules:
  office:
    timezone: Asia/Jakarta
    holidays: ID
    hours:
      mon: [08:00-12:00, 13:00-17:00]
      sat: [08:00-12:00]
teams:
  billing:
    name: Billing
    schedule: office
    secondary: [support]
  support:
    name: Support
    schedule: office
agents:
  - id: 1001
    name: Sari
    teams: [billing]
    shift: office
  - id: 1002
    name: Agus
    teams: [support]
    capacity: 3
    shift: office
intents:
  tagihan:
    team: billing
    keywords: {id: [tagihan], en: [bill]}
routing:
  claim_timeout: 60s
messages:
  id: {greeting: Halo}
  en: {greeting: Hello}
"""


def edited(**lines: str) -> str:
    """MINIMAL with some lines replaced: `edited(l11="    schedule: weekdy")`."""
    text = MINIMAL.splitlines()
    for key, replacement in lines.items():
        text[int(key[1:]) - 1] = replacement
    return "\n".join(text) + "\n"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "config/frontdoor.yaml")
    assert str(caught.value) == "\n".join(map(str, caught.value.problems))
    return str(caught.value).splitlines()


def test_the_example_config_loads() -> None:
    config = load_config(EXAMPLE)
    assert {"sales", "support", "billing"} <= set(config.teams)
    assert config.routing.sales_team == "sales"


def test_the_example_has_the_same_messages_in_both_languages() -> None:
    messages = load_config(EXAMPLE).messages
    assert set(messages["id"]) == set(messages["en"])


def test_the_minimal_config_loads() -> None:
    assert isinstance(parse_config(MINIMAL, "minimal.yaml"), Config)


def test_an_unknown_key_is_reported_on_its_own_line_with_the_allowed_keys() -> None:
    assert problems(edited(l12="    secondary: [support]\n    colour: red")) == [
        "frontdoor.yaml:13 teams.billing.colour: "
        "unknown key (allowed: name, schedule, after_hours, secondary, sla)"
    ]


def test_an_unknown_top_level_section_is_reported() -> None:
    assert problems(edited(l30="routin:"))[0].startswith("frontdoor.yaml:30 routin: unknown key")


def test_an_unknown_day_of_the_week_is_reported() -> None:
    assert problems(edited(l7="      saturday: [08:00-12:00]")) == [
        "frontdoor.yaml:7 schedules.office.hours.saturday: unknown key 'saturday' "
        "(allowed: 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun')"
    ]


def test_a_wrong_type_names_the_value() -> None:
    assert problems(edited(l24="    capacity: lots")) == [
        "frontdoor.yaml:24 agents[1].capacity: expected a valid integer, got 'lots'"
    ]


def test_an_unknown_schedule_is_reported_at_the_reference() -> None:
    assert problems(edited(l11="    schedule: weekdy")) == [
        "frontdoor.yaml:11 teams.billing.schedule: unknown schedule 'weekdy'"
    ]


def test_an_unknown_secondary_team_is_reported() -> None:
    assert problems(edited(l12="    secondary: [suport]")) == [
        "frontdoor.yaml:12 teams.billing.secondary[0]: unknown team 'suport'"
    ]


def test_an_unknown_agent_team_is_reported() -> None:
    assert problems(edited(l23="    teams: [support, sales]")) == [
        "frontdoor.yaml:23 agents[1].teams[1]: unknown team 'sales'"
    ]


def test_an_unknown_intent_team_is_reported() -> None:
    assert problems(edited(l28="    team: biling")) == [
        "frontdoor.yaml:28 intents.tagihan.team: unknown team 'biling'"
    ]


def test_an_unknown_shift_schedule_is_reported() -> None:
    assert problems(edited(l20="    shift: pagi")) == [
        "frontdoor.yaml:20 agents[0].shift: unknown schedule 'pagi'"
    ]


def test_overlapping_hours_are_reported() -> None:
    assert problems(edited(l6="      mon: [08:00-12:00, 11:00-17:00]")) == [
        "frontdoor.yaml:6 schedules.office.hours.mon: spans 08:00-12:00 and 11:00-17:00 overlap"
    ]


def test_inverted_hours_are_reported() -> None:
    assert problems(edited(l7="      sat: [12:00-08:00]")) == [
        "frontdoor.yaml:7 schedules.office.hours.sat: span '12:00-08:00' ends before it starts"
    ]


def test_an_unknown_timezone_is_reported() -> None:
    assert problems(edited(l3="    timezone: Asia/Jakata")) == [
        "frontdoor.yaml:3 schedules.office.timezone: unknown timezone 'Asia/Jakata'"
    ]


def test_a_bad_duration_is_reported() -> None:
    assert problems(edited(l31="  claim_timeout: sixty")) == [
        "frontdoor.yaml:31 routing.claim_timeout: "
        "expected a duration such as 45s, 5m or 72h, got 'sixty'"
    ]


def test_a_duplicate_key_is_reported_at_its_second_occurrence() -> None:
    assert problems(edited(l11="    schedule: office\n    schedule: office")) == [
        "frontdoor.yaml:12 teams.billing.schedule: duplicate key (first at line 11)"
    ]


def test_a_yaml_syntax_error_gives_its_line() -> None:
    [problem] = problems(edited(l14="    name: [Support"))
    assert problem.startswith("frontdoor.yaml:15: YAML syntax error:")


def test_a_missing_required_field_is_reported_at_its_parent() -> None:
    assert problems(edited(l14="    schedule: office", l15="")) == [
        "frontdoor.yaml:13 teams.support.name: required field is missing"
    ]


def test_a_missing_section_is_reported_at_the_top() -> None:
    text = MINIMAL.split("messages:")[0]
    assert problems(text) == ["frontdoor.yaml:1 messages: required field is missing"]


def test_a_duplicate_agent_id_is_reported() -> None:
    assert problems(edited(l21="  - id: 1001")) == [
        "frontdoor.yaml:21 agents[1].id: agent id 1001 appears twice"
    ]


def test_several_problems_are_reported_in_line_order() -> None:
    lines = problems(edited(l3="    timezone: Mars/Olympus", l24="    capacity: 0"))
    assert [line.split(" ")[0] for line in lines] == ["frontdoor.yaml:3", "frontdoor.yaml:24"]


def test_an_empty_file_is_reported() -> None:
    assert problems("# nothing here yet\n") == [
        "frontdoor.yaml:1: the file is empty; expected schedules, teams, messages, …"
    ]


def test_a_file_that_is_not_a_mapping_is_reported() -> None:
    assert problems("- teams\n- agents\n") == [
        "frontdoor.yaml:1: expected a mapping of sections at the top, got a list"
    ]


def test_a_binary_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "frontdoor.yaml"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
    with pytest.raises(ConfigError, match=r"^frontdoor.yaml:\d+: not a UTF-8 text file"):
        load_config(path)


def test_control_characters_are_reported() -> None:
    [problem] = problems("teams:\n  a\x00b: 1\n")
    assert problem.startswith("frontdoor.yaml:2: unexpected character '\\x00'")


def test_an_oversize_file_is_refused_without_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("#" * (MAX_BYTES + 1))
    with pytest.raises(ConfigError, match=r"^huge.yaml: file is too large"):
        load_config(path)


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^nope.yaml: cannot read the file: No such file"):
        load_config(tmp_path / "nope.yaml")


def test_the_file_name_is_given_without_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(edited(l11="    schedule: weekdy"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == "broken.yaml:11 teams.billing.schedule: unknown schedule 'weekdy'"


def test_a_date_that_does_not_exist_is_reported_at_its_line() -> None:
    text = EXAMPLE.read_text().replace("      - date: 2026-12-12", "      - date: 2026-13-12", 1)
    line = text.splitlines().index("      - date: 2026-13-12") + 1
    assert problems(text) == [
        f"frontdoor.yaml:{line}: '2026-13-12' is not a date that exists (month must be in 1..12)"
    ]


def alias_bomb(levels: int) -> str:
    """Each level a list of nine of the level before: 9**levels values in a few hundred bytes."""
    names = [f"l{n}" for n in range(levels + 1)]
    lines = [f"{names[0]}: &{names[0]} [{', '.join(['lol'] * 9)}]"]
    for before, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [{', '.join([f'*{before}'] * 9)}]")
    return MINIMAL + "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [8, 9, 30])
def test_an_alias_bomb_is_refused_at_once(levels: int) -> None:
    started = time.perf_counter()
    [problem] = problems(alias_bomb(levels))
    assert time.perf_counter() - started < 1  # was 16.7 s at 8 levels, past 60 s at 9
    assert problem.startswith("frontdoor.yaml:1: the file stands for")
    assert "aliases" in problem


def test_aliases_that_stand_for_a_sensible_file_are_fine() -> None:
    text = edited(l2="  office: &office", l8="  late:\n    <<: *office\nteams:")
    assert parse_config(text, "frontdoor.yaml").schedules["late"].timezone == "Asia/Jakarta"
