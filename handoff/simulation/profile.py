"""A what-if's profile file: how many customers ask for a person, when, and how customers and
agents behave (`frontdoor simulate --arrivals FILE`)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from handoff.config import Config
from handoff.simulation.engine import HOURS, Distribution, People, Shape


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


class Profile(_Strict):
    """A what-if's people: how many ask for a person, when, and how everyone behaves."""

    people: PeopleSpec
    arrivals: dict[str, float | list[float]] = Field(min_length=1)

    @field_validator("arrivals")
    @classmethod
    def _rates(cls, value: dict[str, float | list[float]]) -> dict[str, float | list[float]]:
        for intent, rates in value.items():
            listed = rates if isinstance(rates, list) else [rates]
            if isinstance(rates, list) and len(rates) != HOURS:
                raise ValueError(f"{intent}: one rate, or 24 (one per hour), not {len(rates)}")
            if any(rate < 0 for rate in listed):
                raise ValueError(f"{intent}: a rate of chats per hour cannot be negative")
        return value

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
