"""`frontdoor config-schema`: the config's JSON Schema, from its models, as editors use it (the
example config points at it on its first line)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from frontdoor.cli import main, schema

CONFIG = Path(__file__).parents[2] / "config"
EXAMPLE = CONFIG / "frontdoor.yaml"
COMMITTED = CONFIG / "frontdoor.schema.json"


class _AsAnEditorReadsIt(yaml.SafeLoader):
    """YAML as a JSON Schema sees it: a date such as 2026-12-24 is a string."""


_AsAnEditorReadsIt.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def editor_problems(text: str) -> list[str]:
    data = yaml.load(text, Loader=_AsAnEditorReadsIt)
    validator = jsonschema.Draft202012Validator(schema())
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)
    ]


def test_the_command_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config-schema"]) == 0
    printed: dict[str, Any] = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(printed)
    assert printed["title"] == "Frontdoor config"
    assert {"bot", "teams", "agents", "replies"} <= printed["properties"].keys()


def test_the_committed_schema_is_the_models_one() -> None:
    assert json.loads(COMMITTED.read_text()) == schema(), (
        "config/frontdoor.schema.json is out of date: "
        "frontdoor config-schema > config/frontdoor.schema.json"
    )


def test_the_example_points_editors_at_the_schema_and_passes_it() -> None:
    text = EXAMPLE.read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=frontdoor.schema.json"
    assert editor_problems(text) == []


def test_an_editor_flags_what_check_config_would_refuse() -> None:
    text = EXAMPLE.read_text()
    broken = text.replace("    schedule: office\n", "    schedule: office\n    shedule: x\n", 1)
    assert any("'shedule' was unexpected" in p for p in editor_problems(broken))
    wrong_type = text.replace("  claim_timeout:", "  claim_timeout: [1]\n  x_claim_timeout:", 1)
    assert editor_problems(wrong_type)
