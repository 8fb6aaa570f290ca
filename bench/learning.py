"""Simulated learners on the daily drill: how much they remember, for how many reviews.

    python bench/learning.py                 # 100 learners, 90 days, the product's defaults
    python bench/learning.py --quick         # a small run that takes seconds
    python bench/learning.py --json          # the same figures as JSON

A policy only ever sees the grades a learner gives; the learner's memory is hidden and
follows one of two models, neither of which is the scheduler's own FSRS:

Main model, "FSRS-6 perturbed". The FSRS-6 formulas written out here from the 21
default parameters w of fsrs, with each learner's own weights: every w_i is multiplied
by exp(N(0, 0.18)) and clipped to the bounds fsrs accepts (w0..w3 kept in increasing
order). Each question has an offset z_q ~ N(0, 1) added to the 1-10 difficulty.

    R(t, S)   = (1 + F t / S) ^ -w20,   F = 0.9 ^ (-1 / w20) - 1
    S0(G)     = w[G - 1]                      G: 1 Again, 2 Hard, 3 Good
    D0(G)     = w4 - exp(w5 (G - 1)) + 1 + z_q, clipped to [1, 10]
    D'        = w7 (D0(4) + z_q) + (1 - w7) (D - w6 (G - 3) (10 - D) / 9)
    recalled  S' = S (1 + e^w8 (11 - D) S^-w9 (e^(w10 (1 - R)) - 1) (w15 if Hard))
    forgotten S' = min(w11 D^-w12 ((S + 1)^w13 - 1) e^(w14 (1 - R)), S / e^(w17 w18))
    same day  S' = S e^(w17 (G - 3 + w18)) S^-w19  (at least S when recalled)

Second model, exponential forgetting with a spacing effect. p(t) = exp(-t / h). Each
learner has a rate rho ~ LogNormal(0, 0.3) and a gain a = 4 LogNormal(0, 0.2); each
question an ease e_q = exp(-0.35 z_q), with the same z_q.

    first sight   h = (1.5, 4, 8)[No, Lean, Strong] rho e_q
    recalled      h' = h (1 + k a e_q (1 - exp(-(t / h) / 0.3))),  k = 1 Strong, 0.5 Lean
    forgotten     h' = max(1.5 rho e_q, 0.4 h)

so a review when more has been forgotten (larger t / h) gives a bigger boost, up to
1 + k a e_q, and a review right after the last one (t ~ 0) gives almost none.

Both models share the answer process. At a first sight the learner already knows the
answer with probability sigmoid(b - 0.6 z_q), b ~ N(0, 0.5) per learner; at a review,
with the model's own recall R. A known answer is graded Strong with probability R
(Lean otherwise), an unknown one No Hire. With probability 0.1 the grade is then
replaced by an adjacent one (Lean becomes Strong or No). The hidden memory learns from
the true outcome (forgotten; recalled Hard if the honest grade was Lean, Good if Strong);
the policy's scheduler gets the noisy grade. A same-drill re-ask comes right after the
answer was shown, so it is recalled with probability 0.9 and updates memory at t ~ 0.

Policies, all drawing new questions in bank order and due reviews most overdue first:
drillbot (`Srs()`, the product's default retention) brings `--new-per-day` new
questions and, besides them, up to `--review-cap` due reviews; fixed is the same drill
on `Srs(schedule="fixed")`; previous is retention 0.9 with only `--new-per-day` slots,
which due reviews fill first. Variants of drillbot sweep the desired retention and try a
same-drill re-ask of a first-sight Lean or No Hire (20 minutes later, extra to the cap).

Random draws are fixed per learner and per question (the k-th review of a question
uses the same numbers under every policy), so policies are compared on paired learners.
Targets on the defaults: every question seen within about 70 days, mean recall of the
seen questions at the end at least 0.85 (main model), and at least 20% fewer reviews
than the fixed plan at equal average recall.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from fsrs.scheduler import LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import ScheduleSettings, SrsSettings
from bot.domain.grades import Grade
from bot.srs import Srs

MODELS = ("fsrs6-perturbed", "exponential")
# Retentions of the fine sweep that finds drillbot's reviews at the fixed plan's recall.
SWEEP_RETENTIONS = (0.6, 0.65, 0.7, 0.75, 0.8, 0.825, 0.85, 0.875, 0.9, 0.925, 0.95, 0.97)
# Retentions shown as candidates for the product default, with either learning step.
CANDIDATE_RETENTIONS = (0.75, 0.8, 0.85, 0.875, 0.9, 0.95)
PREVIOUS_RETENTION = 0.9

MIDNIGHT = datetime(2026, 1, 5, tzinfo=UTC)
DRILL_HOUR = 9
DRILL_AT = DRILL_HOUR / 24
REASK_MINUTES = 20
REASK_DELAY = REASK_MINUTES / 1440
REASK_RECALL = 0.9
GRADE_NOISE = 0.1
BOOTSTRAP = 1000

WEIGHT_SIGMA = 0.18
PRIOR_SPREAD = 0.5
PRIOR_SLOPE = 0.6
EXP_RATE_SIGMA = 0.3
EXP_GAIN = 5.0
EXP_GAIN_SIGMA = 0.2
EXP_EASE_SLOPE = 0.35
EXP_FIRST = (2.0, 12.0, 22.0)
EXP_SPACING_SCALE = 0.2
EXP_LEAN_GAIN = 0.5
EXP_LAPSE = 0.4

# Honest grade index: 0 No Hire (Again), 1 Lean (Hard), 2 Strong (Good).
GRADES = (Grade.NO, Grade.LEAN, Grade.STRONG)

TARGET_ALL_SEEN_DAY = 70
TARGET_RECALL = 0.85
TARGET_SAVING = 0.20
RECALL_TIE = 0.005
MAX_MISSED = 0.05


@dataclass(frozen=True)
class Config:
    learners: int
    days: int
    new_per_day: int
    review_cap: int
    questions: int
    seed: int
    retention: float
    bootstrap: int


@dataclass(frozen=True)
class Policy:
    """One way of filling the daily drill; `shared` means reviews and new share the slots."""

    name: str
    schedule: str
    retention: float
    shared: bool = False
    reask: bool = False


@dataclass(frozen=True)
class Run:
    """What one learner got from one policy."""

    seen: int
    all_seen_day: int | None
    reviews: int
    recall_end_seen: float
    recall_end_all: float
    recall_avg: float


class Learner(Protocol):
    def reset(self) -> None: ...

    def first_sight(self, q: int, *, at: float, u: Sequence[float]) -> int: ...

    def review(self, q: int, *, at: float, u: Sequence[float], reask: bool) -> int: ...

    def recall(self, *, at: float, seen: int) -> np.ndarray: ...


def answer(recall: float, u: Sequence[float]) -> tuple[int, int]:
    """(honest grade, grade given): recall decides the outcome, then grading noise."""
    honest = (2 if u[1] < recall else 1) if u[0] < recall else 0
    given = honest
    if u[2] < GRADE_NOISE:
        given = 1 if honest != 1 else (2 if u[2] < GRADE_NOISE / 2 else 0)
    return honest, given


class FsrsLearner:
    """FSRS-6 memory with the learner's own weights and per-question difficulty."""

    def __init__(self, *, weights: Sequence[float], offsets: np.ndarray, prior: np.ndarray):
        self.w = list(weights)
        self.decay = -self.w[20]
        self.factor = 0.9 ** (1 / self.decay) - 1
        self.offsets = offsets.tolist()
        self.prior = prior.tolist()
        w = self.w
        self.target = [w[4] - math.exp(w[5] * 3) + 1 + z for z in self.offsets]
        self.stability = np.zeros(len(self.offsets))
        self.last = np.zeros(len(self.offsets))
        self.difficulty = [0.0] * len(self.offsets)

    def reset(self) -> None:
        self.stability[:] = 0.0
        self.last[:] = 0.0

    def first_sight(self, q: int, *, at: float, u: Sequence[float]) -> int:
        honest, given = answer(self.prior[q], u)
        w = self.w
        self.stability[q] = max(w[honest], 0.001)
        d0 = w[4] - math.exp(w[5] * honest) + 1 + self.offsets[q]
        self.difficulty[q] = min(max(d0, 1.0), 10.0)
        self.last[q] = at
        return given

    def review(self, q: int, *, at: float, u: Sequence[float], reask: bool) -> int:
        w = self.w
        s = float(self.stability[q])
        d = self.difficulty[q]
        elapsed = at - float(self.last[q])
        r = (1 + self.factor * elapsed / s) ** self.decay
        honest, given = answer(REASK_RECALL if reask else r, u)
        g = honest + 1
        if elapsed < 1:
            grow = math.exp(w[17] * (g - 3 + w[18])) * s ** -w[19]
            s_new = s * (max(grow, 1.0) if honest else grow)
        elif honest:
            hard = w[15] if honest == 1 else 1.0
            s_new = s * (
                1 + math.exp(w[8]) * (11 - d) * s ** -w[9] * (math.exp(w[10] * (1 - r)) - 1) * hard
            )
        else:
            long_term = w[11] * d ** -w[12] * ((s + 1) ** w[13] - 1) * math.exp(w[14] * (1 - r))
            s_new = min(long_term, s / math.exp(w[17] * w[18]))
        damped = d - w[6] * (g - 3) * (10 - d) / 9
        self.difficulty[q] = min(max(w[7] * self.target[q] + (1 - w[7]) * damped, 1.0), 10.0)
        self.stability[q] = max(s_new, 0.001)
        self.last[q] = at
        return given

    def recall(self, *, at: float, seen: int) -> np.ndarray:
        s = self.stability[:seen]
        return (1 + self.factor * (at - self.last[:seen]) / s) ** self.decay


class ExponentialLearner:
    """Exponential forgetting whose strength grows more the later a review comes."""

    def __init__(self, *, rate: float, gain: float, ease: np.ndarray, prior: np.ndarray):
        self.rate = rate
        self.gain = gain
        self.ease = ease.tolist()
        self.prior = prior.tolist()
        self.strength = np.ones(len(self.ease))
        self.last = np.zeros(len(self.ease))

    def reset(self) -> None:
        self.strength[:] = 1.0
        self.last[:] = 0.0

    def first_sight(self, q: int, *, at: float, u: Sequence[float]) -> int:
        honest, given = answer(self.prior[q], u)
        self.strength[q] = EXP_FIRST[honest] * self.rate * self.ease[q]
        self.last[q] = at
        return given

    def review(self, q: int, *, at: float, u: Sequence[float], reask: bool) -> int:
        h = float(self.strength[q])
        spacing = (at - float(self.last[q])) / h
        honest, given = answer(REASK_RECALL if reask else math.exp(-spacing), u)
        ease = self.ease[q]
        if honest:
            k = 1.0 if honest == 2 else EXP_LEAN_GAIN
            boost = 1 - math.exp(-spacing / EXP_SPACING_SCALE)
            self.strength[q] = h * (1 + k * self.gain * ease * boost)
        else:
            self.strength[q] = max(EXP_FIRST[0] * self.rate * ease, EXP_LAPSE * h)
        self.last[q] = at
        return given

    def recall(self, *, at: float, seen: int) -> np.ndarray:
        return np.exp(-(at - self.last[:seen]) / self.strength[:seen])


def make_learner(model: str, *, seed: int, index: int, questions: int) -> Learner:
    """A learner's hidden traits; the same for every policy, so comparisons are paired."""
    rng = np.random.default_rng([seed, index, 1])
    z = rng.normal(0.0, 1.0, questions)
    bias = rng.normal(0.0, PRIOR_SPREAD)
    prior = 1 / (1 + np.exp(-(bias - PRIOR_SLOPE * z)))
    if model == "fsrs6-perturbed":
        import fsrs

        base = np.array(fsrs.Scheduler().parameters)
        weights = base * np.exp(rng.normal(0.0, WEIGHT_SIGMA, base.size))
        weights = np.clip(weights, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS)
        weights[:4] = np.sort(weights[:4])
        return FsrsLearner(weights=weights.tolist(), offsets=z, prior=prior)
    rate = float(np.exp(rng.normal(0.0, EXP_RATE_SIGMA)))
    gain = EXP_GAIN * float(np.exp(rng.normal(0.0, EXP_GAIN_SIGMA)))
    return ExponentialLearner(rate=rate, gain=gain, ease=np.exp(-EXP_EASE_SLOPE * z), prior=prior)


def simulate(learner: Learner, policy: Policy, cfg: Config, draws: list) -> Run:
    """One learner, one policy, `cfg.days` daily drills; memory is read at each day's end."""
    learner.reset()
    srs = Srs(desired_retention=policy.retention, schedule=policy.schedule)  # type: ignore[arg-type]
    n = cfg.questions
    cards: list[dict[str, Any]] = [{}] * n
    due = np.full(n, np.inf)
    events = [0] * n
    seen = 0
    reviews = 0
    all_seen_day: int | None = None
    daily: list[float] = []
    for day in range(cfg.days):
        at = day + DRILL_AT
        when = MIDNIGHT + timedelta(days=day, hours=DRILL_HOUR)
        waiting = np.flatnonzero(due <= day + 1)
        order = waiting[np.argsort(due[waiting], kind="stable")].tolist()
        if policy.shared:
            taken = min(len(order), cfg.review_cap, cfg.new_per_day)
            fresh = min(cfg.new_per_day - taken, n - seen)
        else:
            taken = min(len(order), cfg.review_cap)
            fresh = min(cfg.new_per_day, n - seen)
        for q in order[:taken]:
            grade = learner.review(q, at=at, u=draws[q][events[q]], reask=False)
            events[q] += 1
            reviewed = srs.review(cards[q], GRADES[grade], at=when)
            cards[q] = reviewed.card
            due[q] = (reviewed.due - MIDNIGHT).total_seconds() / 86400
        reviews += taken
        again: list[int] = []
        for q in range(seen, seen + fresh):
            grade = learner.first_sight(q, at=at, u=draws[q][0])
            events[q] = 1
            reviewed = srs.review(srs.new_card(now=when, card_id=q + 1), GRADES[grade], at=when)
            cards[q] = reviewed.card
            due[q] = (reviewed.due - MIDNIGHT).total_seconds() / 86400
            if policy.reask and grade != 2:
                again.append(q)
        seen += fresh
        later = when + timedelta(minutes=REASK_MINUTES)
        for q in again:
            grade = learner.review(q, at=at + REASK_DELAY, u=draws[q][events[q]], reask=True)
            events[q] += 1
            reviewed = srs.review(cards[q], GRADES[grade], at=later)
            cards[q] = reviewed.card
            due[q] = (reviewed.due - MIDNIGHT).total_seconds() / 86400
        reviews += len(again)
        if seen == n and all_seen_day is None:
            all_seen_day = day + 1
        daily.append(float(learner.recall(at=day + 1, seen=seen).mean()) if seen else 0.0)
    end = learner.recall(at=cfg.days, seen=seen)
    return Run(
        seen=seen,
        all_seen_day=all_seen_day,
        reviews=reviews,
        recall_end_seen=float(end.mean()) if seen else 0.0,
        recall_end_all=float(end.sum()) / n,
        recall_avg=sum(daily) / len(daily),
    )


def policies(cfg: Config) -> list[Policy]:
    """Every policy run once; names are looked up by `policy_name`."""
    found: dict[str, Policy] = {}
    for policy in [
        Policy(name="drillbot", schedule="fsrs", retention=cfg.retention),
        Policy(name="fixed", schedule="fixed", retention=cfg.retention),
        Policy(name="previous", schedule="fsrs", retention=PREVIOUS_RETENTION, shared=True),
        *(Policy(name=policy_name(r, False), schedule="fsrs", retention=r) for r in sweep(cfg)),
        *(
            Policy(name=policy_name(r, True), schedule="fsrs", retention=r, reask=True)
            for r in CANDIDATE_RETENTIONS
        ),
    ]:
        found.setdefault(policy.name, policy)
    return list(found.values())


def sweep(cfg: Config) -> list[float]:
    return sorted({*SWEEP_RETENTIONS, *CANDIDATE_RETENTIONS, cfg.retention})


def policy_name(retention: float, reask: bool) -> str:
    return f"{'reask' if reask else 'next-day'} r={retention:g}"


def one_learner(task: tuple[str, int, Config]) -> dict[str, Run]:
    """Every policy for one learner of one model (the unit of work of a process)."""
    model, index, cfg = task
    learner = make_learner(model, seed=cfg.seed, index=index, questions=cfg.questions)
    rng = np.random.default_rng([cfg.seed, index, 2])
    draws = rng.random((cfg.questions, cfg.days + 2, 3)).tolist()
    runs: dict[str, Run] = {}
    for policy in policies(cfg):
        runs[policy.name] = simulate(learner, policy, cfg, draws)
        if policy.name == policy_name(cfg.retention, False):
            runs["drillbot"] = runs[policy.name]
    return runs


def at_equal(recall: np.ndarray, cost: np.ndarray, target: float) -> float:
    """The least cost at `target` recall, linear between neighbouring sweep points.

    Recall need not rise with retention all the way (past some retention the cap turns
    more reviews into a backlog), so every crossing is tried; nan if there is none.
    """
    best = math.nan
    for i in range(len(recall) - 1):
        lo, hi = recall[i], recall[i + 1]
        if min(lo, hi) <= target <= max(lo, hi):
            share = 0.5 if hi == lo else (target - lo) / (hi - lo)
            value = float(cost[i] + share * (cost[i + 1] - cost[i]))
            best = value if math.isnan(best) else min(best, value)
    return best


@dataclass(frozen=True)
class Saving:
    """Fewer reviews (as a share) than a reference, at the reference's average recall."""

    saving: float | None
    low: float | None
    high: float | None
    retention: float | None


def saving_at_equal_recall(
    sweep_recall: np.ndarray,
    sweep_reviews: np.ndarray,
    retentions: Sequence[float],
    ref_recall: np.ndarray,
    ref_reviews: np.ndarray,
    *,
    resamples: int,
    seed: int,
) -> Saving:
    """Paired bootstrap over learners; arrays are (sweep point, learner) and (learner,)."""
    learners = ref_recall.size

    def point(pick: np.ndarray | slice) -> float:
        target = float(ref_recall[pick].mean())
        reviews = at_equal(
            sweep_recall[:, pick].mean(axis=1), sweep_reviews[:, pick].mean(axis=1), target
        )
        return 1 - reviews / float(ref_reviews[pick].mean())

    everyone = slice(None)
    rng = np.random.default_rng([seed, 3])
    values = np.array([point(rng.integers(0, learners, learners)) for _ in range(resamples)])
    # An interval from the resamples that found a crossing is only fair if nearly all did.
    found = values[~np.isnan(values)]
    enough = found.size >= (1 - MAX_MISSED) * resamples
    low, high = np.percentile(found, [2.5, 97.5]) if enough else (math.nan, math.nan)
    retention = at_equal(sweep_recall.mean(axis=1), np.array(retentions), float(ref_recall.mean()))
    return Saving(
        saving=finite(point(everyone)),
        low=finite(low),
        high=finite(high),
        retention=finite(retention),
    )


def finite(value: float) -> float | None:
    """None for an estimate outside the sweep, so the JSON stays valid."""
    return None if math.isnan(value) else float(value)


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def describe(saving: dict[str, Any]) -> str:
    if saving["saving"] is None:
        return "not comparable (the recall is outside the next-day sweep)"
    interval = (
        "95% CI n/a: the recall falls outside the sweep in some resamples"
        if saving["low"] is None
        else f"95% CI {pct(saving['low'])} to {pct(saving['high'])}"
    )
    return f"{pct(saving['saving'])} fewer reviews ({interval})"


def summarise(runs: list[Run]) -> dict[str, Any]:
    days = [r.all_seen_day for r in runs]
    complete = all(d is not None for d in days)
    return {
        "seen": sum(r.seen for r in runs) / len(runs),
        "all_seen_day_mean": sum(days) / len(days) if complete else None,  # type: ignore[arg-type]
        "all_seen_day_max": max(days) if complete else None,  # type: ignore[type-var]
        "learners_all_seen": sum(d is not None for d in days),
        "reviews": sum(r.reviews for r in runs) / len(runs),
        "recall_end_seen": sum(r.recall_end_seen for r in runs) / len(runs),
        "recall_end_all": sum(r.recall_end_all for r in runs) / len(runs),
        "recall_avg": sum(r.recall_avg for r in runs) / len(runs),
    }


def analyse(model: str, runs: list[dict[str, Run]], cfg: Config) -> dict[str, Any]:
    names = list(runs[0])
    table = {name: summarise([r[name] for r in runs]) for name in names}
    for row in table.values():
        row["remembered_per_100_reviews"] = (
            100 * row["recall_end_all"] * cfg.questions / row["reviews"] if row["reviews"] else None
        )

    def column(name: str, field: str) -> np.ndarray:
        return np.array([getattr(r[name], field) for r in runs], dtype=float)

    grid = sweep(cfg)
    recall = np.array([column(policy_name(r, False), "recall_avg") for r in grid])
    reviews = np.array([column(policy_name(r, False), "reviews") for r in grid])

    def versus(name: str, salt: int) -> Saving:
        return saving_at_equal_recall(
            recall,
            reviews,
            grid,
            column(name, "recall_avg"),
            column(name, "reviews"),
            resamples=cfg.bootstrap,
            seed=cfg.seed + salt,
        )

    fixed = versus("fixed", 0)
    reask = {
        f"{r:g}": asdict(versus(policy_name(r, True), i + 1))
        for i, r in enumerate(CANDIDATE_RETENTIONS)
    }
    return {
        "model": model,
        "policies": table,
        "vs_fixed": asdict(fixed),
        "next_day_vs_reask": reask,
    }


def recommend(main: dict[str, Any]) -> dict[str, Any]:
    """The cheapest candidate (retention, step) that keeps the end recall target.

    If none keeps it, the cheapest of those within RECALL_TIE of the best end recall, since a
    smaller difference is within what a hundred learners can tell apart.
    """
    table = main["policies"]
    rows = [
        (table[policy_name(r, reask)]["reviews"], r, reask, table[policy_name(r, reask)])
        for r in CANDIDATE_RETENTIONS
        for reask in (False, True)
    ]
    best = max(row["recall_end_seen"] for *_, row in rows)
    floor = TARGET_RECALL if best >= TARGET_RECALL else best - RECALL_TIE
    reviews, retention, reask, row = min(
        (item for item in rows if item[3]["recall_end_seen"] >= floor), key=lambda x: x[:3]
    )
    per_review = max(rows, key=lambda item: item[3]["remembered_per_100_reviews"] or 0.0)
    return {
        "most_per_review": {
            "retention": per_review[1],
            "step": "same-drill re-ask" if per_review[2] else "next day",
            "remembered_per_100_reviews": per_review[3]["remembered_per_100_reviews"],
        },
        "retention": retention,
        "step": "same-drill re-ask" if reask else "next day",
        "reviews": reviews,
        "recall_end_seen": row["recall_end_seen"],
        "recall_avg": row["recall_avg"],
        "meets_recall_target": best >= TARGET_RECALL,
    }


def targets(main: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The product's targets on drillbot as shipped, in the main model."""
    row = main["policies"]["drillbot"]
    seen_by = row["all_seen_day_max"]
    saving = main["vs_fixed"]["saving"]
    return {
        "every question seen within about 70 days (latest learner's day)": {
            "value": seen_by,
            "met": seen_by is not None and seen_by <= TARGET_ALL_SEEN_DAY,
        },
        f"mean recall of seen questions at the end >= {TARGET_RECALL}": {
            "value": round(row["recall_end_seen"], 3),
            "met": row["recall_end_seen"] >= TARGET_RECALL,
        },
        f"reviews vs fixed at equal average recall: >= {TARGET_SAVING:.0%} fewer": {
            "value": None if saving is None else f"{saving:.1%}",
            "met": saving is not None and saving >= TARGET_SAVING,
        },
    }


def fmt_day(row: dict[str, Any]) -> str:
    if row["all_seen_day_mean"] is None:
        return f"not all ({row['learners_all_seen']} did)"
    return f"{row['all_seen_day_mean']:.1f} / {row['all_seen_day_max']}"


def render(report: dict[str, Any], cfg: Config) -> str:
    lines = [
        f"{cfg.learners} learners, {cfg.days} days, {cfg.new_per_day} new a day, "
        f"review cap {cfg.review_cap}, {cfg.questions} questions, seed {cfg.seed}; "
        f"drillbot = Srs() at retention {cfg.retention:g}, next-day step",
    ]
    header = (
        f"{'policy':<18}{'seen':>7}{'all seen by day':>20}{'reviews':>9}"
        f"{'end seen':>10}{'end all':>9}{'avg':>7}{'per100':>8}"
    )
    for result in report["models"]:
        lines += ["", f"== {result['model']} ==", header]
        for name, row in result["policies"].items():
            per = row["remembered_per_100_reviews"]
            lines.append(
                f"{name:<18}{row['seen']:>7.1f}{fmt_day(row):>20}{row['reviews']:>9.1f}"
                f"{row['recall_end_seen']:>10.3f}{row['recall_end_all']:>9.3f}"
                f"{row['recall_avg']:>7.3f}{'n/a' if per is None else f'{per:.1f}':>8}"
            )
        vs = result["vs_fixed"]
        matched = "outside the sweep" if vs["retention"] is None else f"{vs['retention']:.3f}"
        lines.append(
            f"drillbot vs fixed at equal average recall: {describe(vs)}; "
            f"drillbot retention {matched}"
        )
        for r, s in result["next_day_vs_reask"].items():
            lines.append(f"next-day vs re-ask r={r} at equal average recall: {describe(s)}")
    rec = report["recommendation"]
    lines += [
        "",
        "columns: seen = distinct questions seen; all seen by day = mean / max over learners;",
        "reviews exclude first sights; end seen / end all = mean true recall at the end of the",
        "last day over seen / all questions (unseen = 0); avg = mean over days of end-of-day",
        "recall of seen questions; per100 = questions remembered at the end per 100 reviews",
        "",
        (
            f"most remembered per review (main model): retention "
            f"{rec['most_per_review']['retention']:g}, {rec['most_per_review']['step']} step, "
            f"{rec['most_per_review']['remembered_per_100_reviews']:.1f} per 100 reviews"
        ),
        (
            f"cheapest candidate keeping end recall >= {TARGET_RECALL} (main model): "
            if rec["meets_recall_target"]
            else f"no candidate keeps end recall >= {TARGET_RECALL} (main model); cheapest "
            f"within {RECALL_TIE} of the best: "
        )
        + f"retention {rec['retention']:g}, {rec['step']} step, {rec['reviews']:.1f} reviews, "
        f"end recall {rec['recall_end_seen']:.3f}, average recall {rec['recall_avg']:.3f}",
    ]
    for name, target in report["targets"].items():
        verdict = "met" if target["met"] else "NOT met"
        lines.append(f"target: {name}: {target['value']}, {verdict}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=100)
    parser.add_argument("--days", type=int, default=90)
    # The product's defaults: a member's quick-fire and screening counts, the review cap.
    schedule, srs = ScheduleSettings(), SrsSettings()
    parser.add_argument("--new-per-day", type=int, default=schedule.quickfire + schedule.screening)
    parser.add_argument("--review-cap", type=int, default=srs.max_reviews_per_day)
    parser.add_argument("--questions", type=int, default=276)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--retention",
        type=float,
        default=Srs().desired_retention,
        help="drillbot's desired retention (default: the product's)",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--quick", action="store_true", help="20 learners, 200 resamples")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    cfg = Config(
        learners=20 if args.quick else args.learners,
        days=args.days,
        new_per_day=args.new_per_day,
        review_cap=args.review_cap,
        questions=args.questions,
        seed=args.seed,
        retention=args.retention,
        bootstrap=200 if args.quick else BOOTSTRAP,
    )
    began = time.perf_counter()
    tasks = [(model, i, cfg) for model in MODELS for i in range(cfg.learners)]
    if args.workers > 1:
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            results = list(pool.map(one_learner, tasks, chunksize=4))
    else:
        results = [one_learner(task) for task in tasks]
    models = [
        analyse(model, results[k * cfg.learners : (k + 1) * cfg.learners], cfg)
        for k, model in enumerate(MODELS)
    ]
    report = {
        "config": asdict(cfg),
        "models": models,
        "recommendation": recommend(models[0]),
        "targets": targets(models[0]),
    }
    print(json.dumps(report, indent=2) if args.json else render(report, cfg))
    print(f"({time.perf_counter() - began:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
