"""A what-if's profile file: how many customers ask for a person, when, and how customers and
agents behave (`frontdoor simulate --arrivals FILE`)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from handoff.config import Config
from handoff.simulation.engine import HOURS, HOURS_OF_WEEK, Distribution, People, Shape


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DistributionSpec(_Strict):
    mean: float = Field(ge=0)
    shape: Shape = Shape.EXPONENTIAL
    sigma: float = Field(default=0.5, gt=0, le=3)

    def build(self) -> Distribution:
        return Distribution(self.mean, self.shape, self.sigma)


class PeopleSpec(_Strict):
    handle: DistributionSpec
    claim_delay: DistributionSpec = DistributionSpec(mean=0, shape=Shape.FIXED)
    miss: float = Field(default=0.0, ge=0, le=1)
    patience: DistributionSpec | None = None
    back: DistributionSpec = DistributionSpec(mean=120, shape=Shape.FIXED)
    returning: float = Field(default=0.0, ge=0, le=1)


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_GROUPS = {"weekdays": DAYS[:5], "weekend": DAYS[5:]}
Rates = float | list[float]


def _day_rates(intent: str, rates: Rates) -> list[float]:
    """One day's 24 rates from one rate or 24."""
    if not isinstance(rates, list):
        return [rates] * HOURS
    if len(rates) != HOURS:
        raise ValueError(f"{intent}: a day has one rate, or 24 (one per hour), not {len(rates)}")
    return rates


def _week_rates(intent: str, days: dict[str, Rates]) -> list[float]:
    """The 168 rates of a week written per day (`mon` … `sun`, `weekdays`, `weekend`): a day
    named on its own wins over its group; every day must be given."""
    unknown = sorted(set(days) - set(DAYS) - set(DAY_GROUPS))
    if unknown:
        known = ", ".join([*DAYS, *DAY_GROUPS])
        raise ValueError(f"{intent}: unknown day {unknown[0]!r} (days are {known})")
    week: dict[str, list[float]] = {}
    for group, members in DAY_GROUPS.items():
        if group in days:
            week |= dict.fromkeys(members, _day_rates(f"{intent}.{group}", days[group]))
    week |= {day: _day_rates(f"{intent}.{day}", days[day]) for day in DAYS if day in days}
    missing = [day for day in DAYS if day not in week]
    if missing:
        raise ValueError(f"{intent}: no rates for {', '.join(missing)}")
    return [rate for day in DAYS for rate in week[day]]


class Profile(_Strict):
    """A what-if's people: how many ask for a person, when, and how everyone behaves."""

    people: PeopleSpec
    # Chats per hour by intent: one rate, 24 (each day alike), 168 (Monday 00:00 first), or per
    # day (`mon` … `sun`, `weekdays`, `weekend`: one rate or 24 each), kept as one rate or a list.
    arrivals: dict[str, Rates | dict[str, Rates]] = Field(min_length=1)

    @field_validator("arrivals")
    @classmethod
    def _rates(cls, value: dict[str, Rates | dict[str, Rates]]) -> dict[str, Rates]:
        found: dict[str, Rates] = {}
        for intent, rates in value.items():
            if isinstance(rates, dict):
                rates = _week_rates(intent, rates)
            elif isinstance(rates, list) and len(rates) not in (HOURS, HOURS_OF_WEEK):
                raise ValueError(
                    f"{intent}: one rate, 24 (one per hour of the day) or 168 (one per hour of"
                    f" the week), not {len(rates)}"
                )
            if any(rate < 0 for rate in (rates if isinstance(rates, list) else [rates])):
                raise ValueError(f"{intent}: a rate of chats per hour cannot be negative")
            found[intent] = rates
        return found

    def people_model(self) -> People:
        spec = self.people
        return People(
            handle=spec.handle.build(),
            claim_delay=spec.claim_delay.build(),
            miss=spec.miss,
            patience=spec.patience.build() if spec.patience is not None else None,
            back=spec.back.build(),
            returning=spec.returning,
        )


class ProfileError(ValueError):
    """A profile file that cannot be used; one line per problem."""


def load_profile(path: Path, config: Config) -> Profile:
    """Read a profile file; ProfileError names what is wrong (and intents the config lacks)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ProfileError(f"{path.name}: cannot read it: {error}") from None
    try:
        profile = Profile.model_validate(data)
    except ValidationError as error:
        lines = [f"{path.name} {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()]
        raise ProfileError("\n".join(lines)) from None
    unknown = sorted(set(profile.arrivals) - set(config.intents))
    if unknown:
        raise ProfileError(f"{path.name} arrivals: intents the config does not have: {unknown}")
    return profile
