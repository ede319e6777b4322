"""The one view of a maturity report that every front end renders.

Figures are rounded here, level names and colours are chosen here and every sentence that states a fact
(the level range, the gate holding a dimension, a next step) is worded here. Slack blocks, terminal text,
Markdown and JSON only lay these out, so no two front ends can state different facts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from bot.engine.progress import answered_text, sentence
from bot.engine.scoring import DimensionResult, LevelShortfall, NextStep, Report, at_least

LEVEL_COLOURS = {1: "red", 2: "orange", 3: "yellow", 4: "green"}
NO_LEVEL_COLOUR = "grey"
NOT_SETTLED = "not settled"
NO_PRACTICE_APPLIES = "no practice applies"
OVERALL_RULE_REASON = "a team can rely only on its weakest practice area"
# The overall level is settled, some dimension levels are not: said the same whether the person stopped
# there or an answers file left questions out.
NOT_SETTLED_YET = "Not settled yet, for want of answers"
LEVEL_SCORE_REASON = "the level counts which levels' practices hold; the score weighs every answer"
# Held: what keeps a dimension below the top level this bank places it at, the team's to change.
# Ceiling: the most this bank can measure in a dimension, the bank's limit and not the team's.
NoteKind = Literal["held", "ceiling"]


@dataclass(frozen=True)
class LevelView:
    level: int | None
    name: str | None
    colour: str
    label: str  # "Level 3 · Managed / Standardized", "Level 2 to 3 · not settled" or "no practice applies"
    # The lowest and highest level the unasked questions allow; equal when the level is settled.
    range: tuple[int, int] | None = None


@dataclass(frozen=True)
class DimensionNote:
    kind: NoteKind
    text: str
    short_text: str  # the few words a chart has room for beside the dimension's bar


@dataclass(frozen=True)
class DimensionView:
    id: str
    name: str
    level: LevelView
    score: float | None  # rounded to one decimal; None unless every practice that applies was answered
    score_text: str  # the score, or the range the unasked practices allow
    range_text: str | None  # "could be 3" when unknowns in place would lift the level
    confidence_text: str
    notes: tuple[DimensionNote, ...]  # what holds the dimension below its ceiling first, then the ceiling

    def note(self, kind: NoteKind) -> DimensionNote | None:
        return next((n for n in self.notes if n.kind == kind), None)


@dataclass(frozen=True)
class StepView:
    question_id: str
    dimension_id: str
    kind: str  # gate, practice or find_out
    text: str
    tools: tuple[str, ...]


@dataclass(frozen=True)
class RecommendationView:
    dimension_id: str
    heading: str
    items: tuple[StepView, ...]
    text: str  # the heading and items as one paragraph, for a plain-text line


@dataclass(frozen=True)
class ReportView:
    title: str
    bank_id: str
    bank_version: str
    overall: LevelView
    overall_score: float | None
    overall_score_text: str
    overall_range_text: str | None
    rule_text: str
    level_meaning_text: str
    headline: str
    dimensions: tuple[DimensionView, ...]
    # Set when a dimension has a higher level but a lower score than another, to say why both are right.
    level_score_text: str | None
    recommendation: RecommendationView | None
    next_steps: tuple[StepView, ...]
    find_out: tuple[str, ...]
    to_answer: tuple[str, ...]  # questions that can still change a level
    # Questions left out because no answer to them could change a level, and the line that says so.
    not_asked: tuple[str, ...]
    not_asked_text: str | None
    outcomes: tuple[str, ...]
    disagreements: tuple[str, ...]
    pulse_index: float | None
    pulse_text: str | None
    footer: str

    def dimension(self, dimension_id: str) -> DimensionView:
        return next(d for d in self.dimensions if d.id == dimension_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def level_view(
    level: int | None, names: dict[int, str], level_range: tuple[int, int] | None = None
) -> LevelView:
    """A settled level with its name; an unsettled one as the range its unasked questions allow."""
    if level is None:
        if level_range is None:
            return LevelView(None, None, NO_LEVEL_COLOUR, NO_PRACTICE_APPLIES)
        low, high = level_range
        return LevelView(None, None, NO_LEVEL_COLOUR, f"Level {low} to {high} · {NOT_SETTLED}", level_range)
    name = names.get(level)
    label = f"Level {level} · {name}" if name else f"Level {level}"
    return LevelView(level, name, LEVEL_COLOURS.get(level, NO_LEVEL_COLOUR), label, (level, level))


def range_text(level: int | None, high: int | None) -> str | None:
    """How high the level could go if every unknown were in place: "could be 3" or "could be 3–4"."""
    if level is None or high is None or high <= level:
        return None
    return f"could be {high}" if high == level + 1 else f"could be {level + 1}–{high}"


def score_text(score: float | None, score_range: tuple[float, float] | None = None) -> str:
    """The score, or where it is not exact (some practices were not asked) the range they allow."""
    if score is not None:
        return f"{round(score, 1):.1f}/100"
    if score_range is not None:
        low, high = score_range
        return f"score {round(low, 1):.1f} to {round(high, 1):.1f}/100 (not every practice was asked)"
    return "no score"


def _percent(value: float) -> str:
    return f"{round(value * 100)}%"


def _shortfall_text(shortfall: LevelShortfall) -> str:
    parts = []
    for gate in shortfall.failing_gates:
        reason = "nobody knew whether it is in place" if gate.unknown else "answered below its pass mark"
        parts.append(f"gate {gate.name} ({reason})")
    # Known to fall short on its practices only when it would even with every unasked practice in place.
    if not at_least(shortfall.attainment_at_most, shortfall.threshold):
        # The failing gates lead `weakest`, and are named above already.
        furthest = list(shortfall.weakest[len(shortfall.failing_gates) :])[
            : 1 if shortfall.failing_gates else 2
        ]
        weakest = f" (furthest: {', '.join(furthest)})" if furthest else ""
        exact = round(shortfall.attainment, 6) == round(shortfall.attainment_at_most, 6)
        in_place = _percent(shortfall.attainment_at_most)
        amount = in_place if exact else f"at most {in_place}"
        parts.append(f"practices {amount} in place, {_percent(shortfall.threshold)} needed{weakest}")
    return f"Level {shortfall.level} falls short: " + "; ".join(parts)


def held_text(result: DimensionResult) -> str | None:
    """Why a dimension sits below the top level this bank places it at: every level that falls short
    costs one, gate or attainment alike."""
    if result.level is None or not result.shortfalls:
        return None
    by = "by a gate" if any(s.failing_gates for s in result.shortfalls) else "by practices not in place"
    holding = [
        level for level in range(2, result.ceiling + 1) if level not in {s.level for s in result.shortfalls}
    ]
    counted = (
        f"the practices of {len(holding)} of its {result.ceiling - 1} levels hold ({_levels(holding)})"
        if holding
        else f"none of its {result.ceiling - 1} levels' practices hold"
    )
    text = f"Held at level {result.level} of {result.ceiling} {by}: {counted}. " + " · ".join(
        _shortfall_text(s) for s in result.shortfalls
    )
    alone = result.level_without_gates
    if alone is not None and alone > result.level:
        text += f" · practices alone: level {alone}"
    return text


def _levels(levels: list[int]) -> str:
    return ("level " if len(levels) == 1 else "levels ") + _and([str(level) for level in levels])


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _named(names: list[str], most: int = 2) -> str:
    shown = ", ".join(names[:most])
    return f"{shown} and {len(names) - most} more" if len(names) > most else shown


def held_short_text(result: DimensionResult) -> str:
    """`held_text` in the few words a chart has room for beside the level it shows: the failing gates, or
    else the practices furthest from in place."""
    gates = list(dict.fromkeys(gate.name for s in result.shortfalls for gate in s.failing_gates))
    if gates:
        return f"held by {'a gate' if len(gates) == 1 else 'gates'}: {_named(gates)}"
    furthest = list(dict.fromkeys(name for s in result.shortfalls for name in s.weakest))
    return (
        f"held by practices not in place: {_named(furthest, 1)}"
        if furthest
        else "held by practices not in place"
    )


def dimension_notes(result: DimensionResult) -> tuple[DimensionNote, ...]:
    notes = []
    held = held_text(result)
    if held is not None:
        notes.append(DimensionNote("held", held, held_short_text(result)))
    if result.ceiling < 4:
        measures = f"this bank measures {result.name} up to level {result.ceiling}"
        notes.append(DimensionNote("ceiling", measures, f"this bank measures up to level {result.ceiling}"))
    return tuple(notes)


def _dimension_view(result: DimensionResult, names: dict[int, str]) -> DimensionView:
    applies_at_all = result.score_range is not None
    score_line = NO_PRACTICE_APPLIES if not applies_at_all else score_text(result.score, result.score_range)
    if result.level is None and applies_at_all:
        confidence = f"{counted_questions(len(result.open_questions))} could still change it"
    else:
        confidence = f"confidence {round(result.confidence * 100)}%"
    return DimensionView(
        id=result.dimension_id,
        name=result.name,
        level=level_view(result.level, names, result.level_range if applies_at_all else None),
        score=None if result.score is None else round(result.score, 1),
        score_text=score_line,
        range_text=range_text(result.level, result.level_if_unknowns_in_place),
        confidence_text=confidence,
        notes=dimension_notes(result),
    )


def level_meaning(top: int) -> str:
    """What a level number counts, for a bank whose dimensions reach at most level `top`."""
    example = (
        "level 3 can mean that levels 2 and 4 hold while level 3 falls short"
        if top >= 4
        else f"level {top - 1} can mean that level {top} holds while level {top - 1} falls short"
    )
    return (
        f"A dimension's level is 1 plus the number of its levels (2 to {top}) whose practices hold; each "
        f"level is checked on its own practices, so {example}."
    )


def not_asked_text(report: Report) -> str | None:
    """What was not asked, once the overall level is settled: the questions that could still settle a
    dimension's level, and those no answer to which could change any level."""
    could, could_not = len(report.to_answer), len(report.not_asked)
    if report.overall_level is None or not could + could_not:
        return None
    if could and could_not:
        return (
            f"{counted_questions(could + could_not)} not asked: {could} could still settle the levels not "
            f"settled, and no answer to the other {could_not} could change a level. Answer them for every "
            "level, a complete picture and more Next Steps."
        )
    if could:
        return (
            f"{counted_questions(could)} not asked could still settle the levels not settled. Answer "
            f"{'it' if could == 1 else 'them'} for every level and more Next Steps."
        )
    them = "it" if could_not == 1 else "them"
    return (
        f"{counted_questions(could_not)} not asked: no answer to {them} could change a level. Answer {them} "
        "for a complete picture and more Next Steps."
    )


def counted_questions(count: int) -> str:
    return "1 question" if count == 1 else f"{count} questions"


def level_score_text(dimensions: tuple[DimensionView, ...]) -> str | None:
    """One line for the whole report when levels and scores rank dimensions differently (a higher level
    with a lower score than another dimension), compared as shown: the level and the rounded score."""
    ranked = [
        (d.name, d.level.level, d.score)
        for d in dimensions
        if d.level.level is not None and d.score is not None
    ]
    below: dict[str, list[str]] = {}
    for name, level, score in ranked:
        for other, other_level, other_score in ranked:
            if level > other_level and score < other_score:
                below.setdefault(name, []).append(other)
    if not below:
        return None
    said = "; ".join(
        f"{name} has a higher level but a lower score than {_and(others)}" for name, others in below.items()
    )
    return f"{said}: {LEVEL_SCORE_REASON}."


def step_text(step: NextStep, dimension_name: str) -> str:
    """The seed's language of impact: what the step moves, and from where to where."""
    if step.kind == "find_out":
        towards = (
            f" (it decides whether {dimension_name} can reach level {step.to_level})" if step.to_level else ""
        )
        return f"Find out: {step.practice}{towards}"
    if step.from_level is None:
        lead = f"{dimension_name}"
    elif step.to_level is None:
        lead = f"To strengthen {dimension_name} at level {step.from_level}"
    elif step.to_level == step.from_level + 1:
        lead = f"To move {dimension_name} from level {step.from_level} to {step.to_level}"
    else:
        lead = f"Toward level {step.to_level} in {dimension_name}"
    if step.kind == "gate":
        lead += ", pass the failing gate"
    return f"{lead}: {step.improvement}"


def _step_view(step: NextStep, names_by_dimension: dict[str, str]) -> StepView:
    text = step_text(step, names_by_dimension[step.dimension_id])
    return StepView(step.question_id, step.dimension_id, step.kind, text, step.tools)


def _recommendation(report: Report, names_by_dimension: dict[str, str]) -> RecommendationView | None:
    recommendation = report.recommendation
    if recommendation is None:
        return None
    name = names_by_dimension[recommendation.dimension_id]
    items = tuple(
        StepView(s.question_id, s.dimension_id, s.kind, _recommended_item(s), s.tools)
        for s in recommendation.practices
    )
    unasked = len(report.dimension(recommendation.dimension_id).unanswered)
    if not items and unasked:
        were, them = ("was", "it") if unasked == 1 else ("were", "them")
        heading = (
            f"{name}: every practice answered is at its best; {counted_questions(unasked)} about it "
            f"{were} not asked, since no answer could change its level. Answer {them} for more to do."
        )
    elif not items:
        heading = f"{name}: every practice that applies is answered at its best. Measure again next quarter."
    elif recommendation.to_level is None:
        heading = f"{name} is at the highest level this bank places; to strengthen it:"
    else:
        heading = (
            f"{name} holds the overall level at {recommendation.from_level}. "
            f"To reach level {recommendation.to_level}:"
        )
    text = " ".join([heading, *(f"({rank}) {item.text}" for rank, item in enumerate(items, start=1))])
    return RecommendationView(recommendation.dimension_id, heading, items, text)


def _recommended_item(step: NextStep) -> str:
    if step.kind == "find_out":
        return f"Find out: {step.practice} Then: {step.improvement}"
    prefix = "Pass the failing gate. " if step.kind == "gate" else ""
    return f"{prefix}{step.improvement}"


def _disagreement_text(report: Report, names_by_dimension: dict[str, str]) -> tuple[str, ...]:
    texts = []
    for item in report.disagreements:
        name = names_by_dimension[item.dimension_id]
        stated = (
            f"{name} practices are at level {item.practice_level}, but “{item.answer_label}” usually "
            f"goes with level {item.outcome_level}"
        )
        if item.practice_level > item.outcome_level:
            texts.append(f"{stated}: check that the practices work as answered.")
        else:
            texts.append(f"{stated}: practices may be under-reported, or the outcome rests on few people.")
    return tuple(texts)


def _weakest_link_text(report: Report, focus: DimensionResult) -> str:
    """The weakest-link rule stated with what holds the weakest dimension and how close the rest are, so a
    4/4/4/2 team reads as three dimensions at 4 held by one, not as a level-2 team."""
    names = list(dict.fromkeys(name for s in focus.shortfalls for name in s.weakest))[:3]
    held = f" (held by {', '.join(names)})" if names else ""
    others = [d for d in report.dimensions if d.dimension_id != focus.dimension_id and d.level is not None]
    rest = "; ".join(f"{d.name} {d.level}" for d in others)
    lead = f"{focus.name} is the weakest dimension at {focus.level}{held}"
    return f"{lead}; the others: {rest}." if rest else f"{lead}."


def build_view(report: Report) -> ReportView:
    names = dict(report.level_names)
    names_by_dimension = {d.dimension_id: d.name for d in report.dimensions}
    overall = level_view(report.overall_level, names, report.overall_level_range)
    dimensions = tuple(_dimension_view(d, names) for d in report.dimensions)
    recommendation = _recommendation(report, names_by_dimension)
    overall_range = range_text(report.overall_level, report.overall_level_if_unknowns_in_place)
    if report.overall_level is None:
        between = (
            f"it is between {report.overall_level_range[0]} and {report.overall_level_range[1]}, and "
            if report.overall_level_range
            else ""
        )
        still = counted_questions(len(report.to_answer))
        headline = f"No overall level yet: {between}{still} could still change it."
    else:
        headline = f"Overall {overall.label}" + (f" ({overall_range})" if overall_range else "") + "."
        if report.focus_dimension_id is not None:
            focus = report.dimension(report.focus_dimension_id)
            if focus.level is not None and focus.level >= focus.ceiling and focus.ceiling < 4:
                # A short bank (the pulse) cannot show more; the level is its limit, not the team's.
                headline += (
                    f" That is as high as this bank places {focus.name}; the full assessment can place it"
                    " higher."
                )
            else:
                headline += " " + _weakest_link_text(report, focus)
        unsettled = [d for d in report.dimensions if d.level is None and d.score_range is not None]
        if unsettled:
            ranges = _and([f"{d.name} {d.level_range[0]} to {d.level_range[1]}" for d in unsettled])
            headline += f" {NOT_SETTLED_YET}: {ranges}."
    not_asked = tuple(text for _, text in report.not_asked)
    outcomes = tuple(
        f"{o.question_text} {o.answer_label if o.answer_label else 'Not known'}" for o in report.outcomes
    )
    pulse = (
        None
        if report.pulse_index is None
        else f"Pulse index {round(report.pulse_index, 1):.1f}/100: the figure a quarterly pulse compares with"
    )
    return ReportView(
        title=f"MLOps maturity report · {report.bank_title}",
        bank_id=report.bank_id,
        bank_version=report.bank_version,
        overall=overall,
        overall_score=None if report.overall_score is None else round(report.overall_score, 1),
        overall_score_text=score_text(report.overall_score, report.overall_score_range),
        overall_range_text=overall_range,
        rule_text=f"Overall level = the {report.overall_level_rule}'s level: {OVERALL_RULE_REASON}.",
        level_meaning_text=level_meaning(max((d.ceiling for d in report.dimensions), default=4)),
        headline=headline,
        dimensions=dimensions,
        level_score_text=level_score_text(dimensions),
        recommendation=recommendation,
        next_steps=tuple(_step_view(s, names_by_dimension) for s in report.next_steps),
        find_out=tuple(text for _, text in report.find_out),
        to_answer=tuple(text for _, text in report.to_answer),
        not_asked=not_asked,
        not_asked_text=not_asked_text(report),
        outcomes=outcomes,
        disagreements=_disagreement_text(report, names_by_dimension),
        pulse_index=None if report.pulse_index is None else round(report.pulse_index, 1),
        pulse_text=pulse,
        footer=(
            f"{sentence(answered_text(report.answered, report.applicable))} · "
            f"bank {report.bank_id} v{report.bank_version}, reviewed {report.bank_reviewed}"
            + (f" · new in v{report.bank_version}: {report.bank_changes}" if report.bank_changes else "")
        ),
    )
