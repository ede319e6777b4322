"""Which figure a team report may show per dimension, so that it stays private even if everyone but one
member pools their own answers (docs/privacy.md states the guarantee and the proof).

A team report counts members per *band*: each member is either in the dimension's upper band or not.
Two bands are offered, in this order of preference:
- ``level``: the member's own level in the dimension is 3 or above;
- ``score``: the member's own score in the dimension is 50 or more.

A dimension gets the first band that is *deniable* on this bank, and none when neither is. Deniable means
that, whichever band a member is in, the bank offers answer sets in that same band which differ in each
single fact about the member: another answer to each question of the dimension, another level, another
score. ``deniable`` checks it on a finite family of answer sets that fill the dimension (every practice
at its lowest or highest option, level by level, and each question at each of its answers in turn), under
every combination of context answers; if the family has two in the band that differ in a fact, every
member in that band has an alternative that differs in that fact, because the alternative need only match
the member's band, not their answers. Context answers, which can switch questions of several dimensions
on or off, are checked once for all banded dimensions together (``context_deniable``).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.engine.answers import Answer, OptionChoice, choices
from bot.engine.bank import ContextQuestion, Question, QuestionBank
from bot.engine.scoring import DimensionResult, applies, score_dimension

BandKind = Literal["level", "score"]
BAND_KINDS: tuple[BandKind, ...] = ("level", "score")
UPPER_LEVEL = 3
UPPER_SCORE = 50
# Beyond this many combinations of context answers the check gives up and shows no banded figure.
MAX_CONTEXTS = 256


def in_upper_band(kind: BandKind, result: DimensionResult) -> bool:
    if kind == "level":
        return result.level is not None and result.level >= UPPER_LEVEL
    # Whole points, as the report would round them: a hair of floating-point error must not matter.
    return result.score is not None and result.score + 1e-9 >= UPPER_SCORE


def band_text(kind: BandKind) -> tuple[str, str]:
    """How the report names the upper and the lower band."""
    if kind == "level":
        return f"at Level {UPPER_LEVEL} or above", f"below Level {UPPER_LEVEL}"
    return f"scoring {UPPER_SCORE} or more", f"scoring under {UPPER_SCORE}"


def _lowest(question: Question) -> Answer:
    values = [option.value for option in question.options]
    return OptionChoice(values.index(min(values)))


def _highest(question: Question) -> Answer:
    values = [option.value for option in question.options]
    return OptionChoice(values.index(max(values)))


def context_assignments(bank: QuestionBank) -> list[dict[str, Answer]] | None:
    """Every combination of answers to the context questions (None when there are too many to check)."""
    contexts = [q for q in bank.questions if isinstance(q, ContextQuestion)]
    total = 1
    for question in contexts:
        total *= len(choices(question))
    if total > MAX_CONTEXTS:
        return None
    options = [[answer for answer, _ in choices(q)] for q in contexts]
    return [dict(zip([q.id for q in contexts], combo, strict=True)) for combo in itertools.product(*options)]


def _fills(practices: Sequence[Question]) -> Iterator[dict[str, Answer]]:
    """Answer sets for a dimension's practices: all lowest, all highest, and level by level."""
    yield {q.id: _lowest(q) for q in practices}
    yield {q.id: _highest(q) for q in practices}
    for level in range(1, 5):
        yield {q.id: _highest(q) if q.level <= level else _lowest(q) for q in practices}
        yield {q.id: _lowest(q) if q.level == level else _highest(q) for q in practices}


@dataclass(frozen=True)
class _Probe:
    bank: QuestionBank
    dimension_id: str
    context: Mapping[str, Answer]

    @functools.cached_property
    def practices(self) -> list[Question]:
        return [q for q in self.bank.questions_in(self.dimension_id) if applies(q, self.context, self.bank)]

    def result(self, fill: Mapping[str, Answer]) -> DimensionResult:
        return score_dimension(self.bank, self.dimension_id, {**self.context, **fill})

    def anchor(self, upper: bool) -> dict[str, Answer]:
        pick = _highest if upper else _lowest
        return {q.id: pick(q) for q in self.practices}


def _band_deniable(probe: _Probe, kind: BandKind) -> bool:
    results = [(fill, probe.result(fill)) for fill in _fills(probe.practices)]
    for upper in (False, True):
        anchor = probe.anchor(upper)
        if in_upper_band(kind, probe.result(anchor)) != upper:
            continue  # nobody under this context is in this band
        in_band = [result for _, result in results if in_upper_band(kind, result) == upper]
        if len({r.level for r in in_band}) < 2 or len({r.score for r in in_band}) < 2:
            return False
        for question in probe.practices:
            kept = [
                answer
                for answer, _ in choices(question)
                if in_upper_band(kind, probe.result({**anchor, question.id: answer})) == upper
            ]
            if len(kept) < 2:
                return False
    return True


def deniable(bank: QuestionBank, dimension_id: str, kind: BandKind) -> bool:
    """Whether the band hides every single fact of the dimension, and both of its sides can be reached (a
    band nobody can leave would be safe but say nothing)."""
    contexts = context_assignments(bank)
    if contexts is None:
        return False
    probes = [_Probe(bank, dimension_id, context) for context in contexts]
    reached = {in_upper_band(kind, p.result(p.anchor(upper))) for p in probes for upper in (False, True)}
    return reached == {False, True} and all(_band_deniable(probe, kind) for probe in probes)


def context_deniable(bank: QuestionBank, bands: Mapping[str, BandKind]) -> bool:
    """Whether each context answer has another with which every banded dimension can stay in either of
    its bands (by filling it with its lowest or highest answers), so the bands never tell it."""
    contexts = context_assignments(bank)
    if contexts is None:
        return not bands
    for context in contexts:
        for question_id, given in context.items():
            others = [a for a, _ in choices(bank.question(question_id)) if a != given]
            if not any(_keeps_bands(bank, bands, {**context, question_id: other}) for other in others):
                return False
    return True


def _keeps_bands(bank: QuestionBank, bands: Mapping[str, BandKind], context: Mapping[str, Answer]) -> bool:
    for dimension_id, kind in bands.items():
        probe = _Probe(bank, dimension_id, context)
        for upper in (False, True):
            if in_upper_band(kind, probe.result(probe.anchor(upper))) != upper:
                return False
    return True


_CHECKED: dict[str, dict[str, BandKind | None]] = {}
CHECKED_BANKS_KEPT = 64


def dimension_bands(bank: QuestionBank) -> dict[str, BandKind | None]:
    """Per dimension the band its figure counts members in, or None when no band is deniable on this bank.
    Worked out once per bank content (about a tenth of a second), since every contribution needs it."""
    key = bank.model_dump_json()
    if key not in _CHECKED:
        if len(_CHECKED) >= CHECKED_BANKS_KEPT:
            _CHECKED.pop(next(iter(_CHECKED)))
        _CHECKED[key] = _dimension_bands(bank)
    return dict(_CHECKED[key])


def _dimension_bands(bank: QuestionBank) -> dict[str, BandKind | None]:
    bands: dict[str, BandKind | None] = {}
    for dimension in bank.dimensions:
        bands[dimension.id] = next((k for k in BAND_KINDS if deniable(bank, dimension.id, k)), None)
    chosen = {d: k for d, k in bands.items() if k is not None}
    if not context_deniable(bank, chosen):
        switched = {q.id for q in bank.practices if q.applies_if is not None}
        for dimension_id in chosen:
            if any(q.id in switched for q in bank.questions_in(dimension_id)):
                bands[dimension_id] = None
    return bands


def member_bands(bank: QuestionBank, results: Sequence[DimensionResult]) -> dict[str, bool]:
    """Per banded dimension whether this member is in its upper band."""
    bands = dimension_bands(bank)
    return {
        r.dimension_id: in_upper_band(kind, r)
        for r in results
        if (kind := bands.get(r.dimension_id)) is not None
    }
