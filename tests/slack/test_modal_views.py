"""The setup forms as slack_sdk builds them, within Slack's limits, and what a submission of each reads as:
golden cases, and properties over any values a submission can carry."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.views import View

from bot.engine.catalog import BankCatalog
from bot.engine.overview import brief_length
from bot.engine.schedule import ScheduleRequest, parse_request
from bot.slack.blocks import BlockLimitError
from bot.slack.modal_views import (
    AUDIENCE_FIELD,
    BANK_FIELD,
    CHANNEL_FIELD,
    CRON_FIELD,
    DAYS_FIELD,
    RULE_FIELD,
    SCHEDULE_BANK_FIELD,
    TIME_FIELD,
    FieldErrors,
    ScheduleSetup,
    TeamSetup,
    check_view,
    origin_of,
    read_schedule_setup,
    read_team_setup,
    schedule_setup_view,
    team_setup_view,
)
from playground.fakeslack.workspace import view_state

CATALOG = BankCatalog.from_directory()
ORIGIN = "C0ORIGIN"
TEAM_VIEW = team_setup_view(CATALOG.banks, "mlops", ORIGIN)
SCHEDULE_VIEW = schedule_setup_view(CATALOG, ORIGIN)


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}


def team(**entered: str | None) -> TeamSetup | FieldErrors:
    return read_team_setup(view_state(TEAM_VIEW, entered), CATALOG)


def schedule(**entered: str | None) -> ScheduleSetup | FieldErrors:
    return read_schedule_setup(view_state(SCHEDULE_VIEW, entered), CATALOG)


def errors(read: object) -> dict[str, str]:
    assert isinstance(read, FieldErrors), read
    return read.errors


# The forms -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("view", [TEAM_VIEW, SCHEDULE_VIEW], ids=["team", "schedule"])
def test_each_form_is_a_modal_slack_accepts(view: dict[str, Any]) -> None:
    View(**view).to_dict()  # slack_sdk's own limits: title, submit, close, blocks
    assert view["type"] == "modal"
    for name in ("title", "submit", "close"):
        assert 1 <= len(view[name]["text"]) <= 24, view[name]
    assert len(view["blocks"]) <= 100
    for element in inputs(view).values():
        assert element["action_id"] == "value"
        assert all(len(option["text"]["text"]) <= 75 for option in element.get("options", []))
    assert origin_of(view["private_metadata"]) == ORIGIN


def test_the_team_form_asks_bank_deadline_and_channel_with_defaults() -> None:
    fields = inputs(TEAM_VIEW)
    assert list(fields) == [BANK_FIELD, DAYS_FIELD, CHANNEL_FIELD]
    assert [o["value"] for o in fields[BANK_FIELD]["options"]] == ["mlops", "pulse"]
    assert fields[BANK_FIELD]["initial_option"]["value"] == "mlops"
    assert fields[BANK_FIELD]["options"][0]["description"]["text"] == brief_length(CATALOG.get("mlops"))
    assert (fields[DAYS_FIELD]["type"], fields[DAYS_FIELD]["initial_value"]) == ("number_input", "7")
    assert (fields[DAYS_FIELD]["min_value"], fields[DAYS_FIELD]["max_value"]) == ("1", "30")
    assert fields[CHANNEL_FIELD]["type"] == "conversations_select"
    assert fields[CHANNEL_FIELD]["initial_conversation"] == ORIGIN
    # The default bank of the deployment is the one chosen first.
    pulse_first = inputs(team_setup_view(CATALOG.banks, "pulse", ORIGIN))[BANK_FIELD]
    assert pulse_first["initial_option"]["value"] == "pulse"


def test_from_a_dm_the_team_form_leaves_the_channel_to_choose() -> None:
    fields = inputs(team_setup_view(CATALOG.banks, "mlops", "D0DIRECT"))
    assert "initial_conversation" not in fields[CHANNEL_FIELD]


def test_the_schedule_form_asks_rule_cron_time_bank_and_audience() -> None:
    fields = inputs(SCHEDULE_VIEW)
    assert list(fields) == [RULE_FIELD, CRON_FIELD, TIME_FIELD, SCHEDULE_BANK_FIELD, AUDIENCE_FIELD]
    assert [o["value"] for o in fields[RULE_FIELD]["options"]] == ["quarterly", "monthly", "cron"]
    assert fields[TIME_FIELD]["type"] == "timepicker"
    assert [o["value"] for o in fields[SCHEDULE_BANK_FIELD]["options"]] == ["pulse", "full"]
    assert (
        fields[SCHEDULE_BANK_FIELD]["options"][0]["text"]["text"]
        == "MLOps Quarterly Pulse (8 questions, about 4 minutes)"
    )
    assert [o["value"] for o in fields[AUDIENCE_FIELD]["options"]] == ["personal", "team"]
    assert f"<#{ORIGIN}>" in SCHEDULE_VIEW["blocks"][0]["elements"][0]["text"]


@pytest.mark.parametrize(
    "view",
    [
        View(type="modal", title="A title of 25 characters!", blocks=[SectionBlock(text="x")]),
        View(type="modal", title="T", submit="x" * 25, blocks=[SectionBlock(text="x")]),
        View(type="modal", title="T", blocks=[SectionBlock(text=str(n)) for n in range(101)]),
        View(
            type="modal",
            title="T",
            blocks=[SectionBlock(text="a", block_id="b"), SectionBlock(text="c", block_id="b")],
        ),
    ],
)
def test_check_view_refuses_what_slack_refuses(view: View) -> None:
    with pytest.raises(BlockLimitError):
        check_view(view)


def test_an_option_slack_would_cut_is_refused() -> None:
    # Parsed from a dict, slack_sdk lets the option through; Slack would refuse the view.
    option = {"text": {"type": "plain_text", "text": "x" * 76}, "value": "v"}
    element = {"type": "static_select", "action_id": "value", "options": [option]}
    label = {"type": "plain_text", "text": "L"}
    view = View(
        type="modal", title="T", submit="Go", blocks=[{"type": "input", "label": label, "element": element}]
    )
    with pytest.raises(BlockLimitError, match="over 75"):
        check_view(view)


# Reading the team form ---------------------------------------------------------------------------


def test_the_team_form_as_shown_starts_the_default_run_here() -> None:
    assert team() == TeamSetup("mlops", 7, ORIGIN)
    assert team(bank="pulse", days="3", channel="G0PRIVATE") == TeamSetup("pulse", 3, "G0PRIVATE")


@pytest.mark.parametrize(
    ("entered", "field", "says"),
    [
        ({"days": "0"}, DAYS_FIELD, "1 to 30 whole days"),
        ({"days": "31"}, DAYS_FIELD, "1 to 30 whole days"),
        ({"days": "3.5"}, DAYS_FIELD, "1 to 30 whole days"),
        ({"days": "-2"}, DAYS_FIELD, "1 to 30 whole days"),
        ({"days": None}, DAYS_FIELD, "1 to 30 whole days"),
        ({"bank": "retired"}, BANK_FIELD, "no longer offered"),
        ({"bank": None}, BANK_FIELD, "Choose a question bank"),
        ({"channel": "D0DIRECT"}, CHANNEL_FIELD, "not a direct message"),
        ({"channel": None}, CHANNEL_FIELD, "Choose the channel"),
    ],
)
def test_bad_team_input_is_answered_under_its_field(
    entered: dict[str, str | None], field: str, says: str
) -> None:
    found = errors(team(**entered))
    assert list(found) == [field] and says in found[field]


def test_every_bad_team_field_is_answered_at_once() -> None:
    assert set(errors(team(bank=None, days="99", channel=None))) == {BANK_FIELD, DAYS_FIELD, CHANNEL_FIELD}


# Reading the schedule form -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entered", "words", "expected"),
    [
        ({}, "quarterly pulse", ScheduleRequest("quarterly", None, "pulse", False, None)),
        (
            {"rule": "monthly", "time": "09:30", "bank_choice": "full", "audience": "team"},
            "monthly full team at 09:30",
            ScheduleRequest("monthly", None, "full", True, (9, 30)),
        ),
        (
            {"rule": "cron", "cron": "  0 10 1 */3 * "},
            "'0 10 1 */3 *' pulse",
            ScheduleRequest("cron", "0 10 1 */3 *", "pulse", False, None),
        ),
    ],
)
def test_the_schedule_form_reads_as_the_words_schedule_takes(
    entered: dict[str, str | None], words: str, expected: ScheduleRequest
) -> None:
    read = schedule(**entered)
    assert read == ScheduleSetup(words)
    assert parse_request(words) == expected


@pytest.mark.parametrize(
    ("entered", "field", "says"),
    [
        ({"rule": "cron"}, CRON_FIELD, "Write the cron expression"),
        ({"rule": "cron", "cron": "0 10 1 */3"}, CRON_FIELD, "has 4 fields"),
        ({"rule": "cron", "cron": "*/5 * * * *"}, CRON_FIELD, "at most once a day"),
        ({"rule": "cron", "cron": "0 10 30 2 *"}, CRON_FIELD, "matches no date"),
        ({"rule": "cron", "cron": "0 10 * * 1", "time": "09:00"}, TIME_FIELD, "carries its own time"),
        ({"cron": "0 10 * * 1"}, CRON_FIELD, "Custom cron expression"),
        ({"time": "25:00"}, TIME_FIELD, "not a time of day"),
        ({"rule": None}, RULE_FIELD, "Choose how often"),
        ({"rule": "weekly"}, RULE_FIELD, "Choose how often"),
        ({"bank_choice": "lite"}, SCHEDULE_BANK_FIELD, "pulse or the full"),
        ({"audience": None}, AUDIENCE_FIELD, "Choose who answers"),
    ],
)
def test_bad_schedule_input_is_answered_under_its_field(
    entered: dict[str, str | None], field: str, says: str
) -> None:
    found = errors(schedule(**entered))
    assert list(found) == [field] and says in found[field], found
    assert "`" not in found[field]  # a field error is plain text: no mrkdwn code marks


def test_a_bank_the_deployment_does_not_offer_is_refused() -> None:
    only_full = BankCatalog([CATALOG.by_id("mlops")])
    view = schedule_setup_view(only_full, ORIGIN)
    assert "pulse" in errors(read_schedule_setup(view_state(view, {}), only_full))[SCHEDULE_BANK_FIELD]


# Any submission ----------------------------------------------------------------------------------

# Values a submission can carry in any field: nothing, any text, and the words the forms' own choices use.
any_value = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(
        [
            *("7", "30", "0", "C1", "D1", "mlops", "pulse", "full", "personal", "team", "quarterly"),
            *("monthly", "cron", "09:30", "0 9 * * 1", "*/5 * * * *"),
        ]
    ),
)
state_entry = st.fixed_dictionaries(
    {},
    optional={
        "type": st.text(max_size=10),
        "value": any_value,
        "selected_option": st.one_of(st.none(), st.fixed_dictionaries({"value": any_value})),
        "selected_conversation": any_value,
        "selected_time": any_value,
    },
)
any_changes = st.dictionaries(
    st.sampled_from([*inputs(TEAM_VIEW), *inputs(SCHEDULE_VIEW), "other"]),
    st.one_of(st.none(), st.dictionaries(st.sampled_from(["value", "x"]), state_entry, max_size=2)),
    max_size=3,
)


def submissions(view: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """The form as shown (which reads as a request), with up to three fields replaced by anything."""
    return any_changes.map(lambda changes: {**view_state(view, {}), **changes})


def refused_under_its_fields(read: object, view: dict[str, Any]) -> bool:
    """True for errors, each a message under a field of `view`; False for a request."""
    if not isinstance(read, FieldErrors):
        return False
    assert read.errors and set(read.errors) <= set(inputs(view))
    assert all(message.strip() for message in read.errors.values())
    return True


@given(submissions(TEAM_VIEW))
def test_any_team_submission_reads_as_a_run_in_bounds_or_errors_under_its_fields(
    values: dict[str, Any],
) -> None:
    read = read_team_setup(values, CATALOG)
    if not refused_under_its_fields(read, TEAM_VIEW):
        assert isinstance(read, TeamSetup)
        assert 1 <= read.days <= 30 and read.channel_id[0] in "CG"
        CATALOG.by_id(read.bank_id)


@given(submissions(SCHEDULE_VIEW))
def test_any_schedule_submission_reads_as_words_that_parse_or_errors_under_its_fields(
    values: dict[str, Any],
) -> None:
    read = read_schedule_setup(values, CATALOG)
    if not refused_under_its_fields(read, SCHEDULE_VIEW):
        assert isinstance(read, ScheduleSetup)
        parse_request(read.text).rule("UTC")


@given(
    st.sampled_from(["quarterly", "monthly", "cron"]),
    st.sampled_from(["0 9 * * 1", "30 8 1 * *", "0 10 1 */3 *", "bad cron"]),
    st.one_of(st.none(), st.builds("{:02d}:{:02d}".format, st.integers(0, 23), st.integers(0, 59))),
    st.sampled_from(["pulse", "full"]),
    st.sampled_from(["personal", "team"]),
)
def test_a_form_filled_from_its_own_choices_reads_as_the_same_request(
    rule: str, cron: str, at: str | None, bank: str, audience: str
) -> None:
    entered = {"rule": rule, "time": at, "bank_choice": bank, "audience": audience}
    entered["cron"] = cron if rule == "cron" else None
    read = schedule(**entered)
    if rule == "cron" and (cron == "bad cron" or at is not None):
        assert isinstance(read, FieldErrors)
        return
    assert isinstance(read, ScheduleSetup), read
    request = parse_request(read.text)
    assert (request.kind, request.bank, request.team) == (rule, bank, audience == "team")
    assert request.cron == (cron if rule == "cron" else None)
    expected_at = None if at is None else tuple(int(part) for part in at.split(":"))
    assert request.at == expected_at
