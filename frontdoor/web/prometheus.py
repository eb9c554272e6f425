"""Prometheus' text exposition format 0.0.4, written by hand: metric families in, text out.

https://prometheus.io/docs/instrumenting/exposition_formats/: each family has one `# HELP` and
one `# TYPE` line before its samples; label values escape backslash, double quote and newline,
HELP text escapes backslash and newline.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Kind(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    SUMMARY = "summary"


@dataclass(frozen=True)
class Sample:
    """One line of a family: `suffix` is "_sum" or "_count" for a summary's totals."""

    labels: Mapping[str, str]
    value: float
    suffix: str = ""


@dataclass
class Family:
    """A metric's samples under one name, HELP and TYPE."""

    name: str
    kind: Kind
    help: str
    samples: list[Sample] = field(default_factory=list)

    def add(self, value: float, suffix: str = "", **labels: str) -> None:
        self.samples.append(Sample(labels, value, suffix))


def one_value(name: str, kind: Kind, help: str, value: float) -> Family:
    """A family of one sample without labels."""
    family = Family(name, kind, help)
    family.add(value)
    return family


def summary(
    name: str, help: str, quantiles: Mapping[float, float | None], total: float, count: int
) -> Family:
    """A summary without labels; a quantile with no observations is NaN, as client libraries
    write it."""
    family = Family(name, Kind.SUMMARY, help)
    for quantile, value in quantiles.items():
        family.add(math.nan if value is None else value, quantile=format_value(quantile))
    family.add(total, "_sum")
    family.add(count, "_count")
    return family


def render(families: Iterable[Family]) -> str:
    """The exposition text of `families`, in the order given."""
    lines: list[str] = []
    for family in families:
        help_text = family.help.replace("\\", "\\\\").replace("\n", "\\n")
        lines.append(f"# HELP {family.name} {help_text}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for sample in family.samples:
            lines.append(
                f"{family.name}{sample.suffix}{_labels(sample.labels)} {format_value(sample.value)}"
            )
    return "\n".join(lines) + "\n"


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(value: float) -> str:
    """Go's float spelling as Prometheus reads it: NaN, +Inf, -Inf; whole numbers without ".0"."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    pairs = ",".join(f'{name}="{escape_label_value(value)}"' for name, value in labels.items())
    return "{" + pairs + "}"
