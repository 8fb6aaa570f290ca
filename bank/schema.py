"""What a bank question is. See docs/bank-format.md for the file format."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

TRACKS = ("deep-learning", "llm", "ai-engineering", "ml-system-design")
LEVELS = ("quickfire", "screening", "deep-dive", "staff", "system-design", "research", "scenario")

DEFAULT_TIME_LIMITS = {
    "quickfire": 30,
    "screening": 120,
    "deep-dive": 300,
    "staff": 900,
    "system-design": 900,
    "research": 300,
    "scenario": 600,
}
MIN_TIME_LIMIT_S = 10
MAX_TIME_LIMIT_S = 3600

Track = Literal["deep-learning", "llm", "ai-engineering", "ml-system-design"]
Level = Literal[
    "quickfire", "screening", "deep-dive", "staff", "system-design", "research", "scenario"
]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Slug = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[a-z0-9][a-z0-9.+&/-]*$"),
]


class Rubric(BaseModel):
    """What a Strong, a Lean and a No Hire answer sound like for this question."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strong: NonEmpty
    lean: NonEmpty
    no: NonEmpty


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")]
    track: Track
    level: Level
    prompt: NonEmpty
    answer: NonEmpty
    rubric: Rubric
    follow_ups: tuple[NonEmpty, ...] = ()
    red_flags: tuple[NonEmpty, ...] = ()
    tags: tuple[Slug, ...] = ()
    companies: tuple[Slug, ...] = ()
    time_limit_s: (
        Annotated[int, Field(ge=MIN_TIME_LIMIT_S, le=MAX_TIME_LIMIT_S, strict=True)] | None
    ) = None
    study: str = ""
    source: str = ""

    @field_validator("id", mode="before")
    @classmethod
    def _id_is_text(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError("id must be text like dl-q17")
        return value

    @property
    def time_budget_s(self) -> int:
        return self.time_limit_s or DEFAULT_TIME_LIMITS[self.level]

    @property
    def content_hash(self) -> str:
        """Changes whenever anything a member sees changes; used to sync the database."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()
