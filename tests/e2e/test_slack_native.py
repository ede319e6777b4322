"""What a person sees in a real Slack client, checked on everything the app sends: the real app
(`mlops-compass serve`, started once for this module), the fake Slack, a real Redis.

A personal run (typed), a personal run from the global shortcut, a team run set up in its modal and a
schedule set up in its modal each collect every message, modal and update the app sends (chat.postMessage,
chat.update, chat.postEphemeral, response_url posts, views.open, views.publish, and the acknowledgements
that carry a message). Each one must parse with slack_sdk's models, keep every button text within 30
characters and every option text within 75, give every emoji, symbol or abbreviation button an
accessibility label, and (a message) have notification text. The modals open with the command's trigger
within the 3 seconds Slack allows, which the fake enforces.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.slack.blocks import MAX_BUTTON_TEXT_SHOWN, needs_accessibility_label
from bot.slack.modal_views import SCHEDULE_SETUP_CALLBACK, TEAM_SETUP_CALLBACK
from bot.slack.modals import START_SHORTCUT, shortcut_started_text
from playground.fakeslack import FakeSlack, RecordedCall
from playground.fakeslack.app_process import AppProcess
from playground.fakeslack.views import TRIGGER_LIFETIME_SECONDS
from playground.fakeslack.workspace import Acknowledgement, SlackUser, buttons_of
from tests.conftest import REAL_REDIS_URL, workspace_state
from tests.e2e.conftest import (
    DEFAULT_BANK,
    MEASURED,
    answer_buttons,
    best_option,
    button_labelled,
    click_and_wait,
    new_user,
    start,
)

MESSAGE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")
VIEW_METHODS = ("views.open", "views.publish")
MAX_OPTION_TEXT = 75
MAX_VIEW_TEXT = 24
MAX_VIEW_BLOCKS = 100
WAIT = 15.0


@dataclass
class Collected:
    """Everything the app sent while a flow ran, and what the checks counted."""

    calls: list[RecordedCall] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    buttons: int = 0
    options: int = 0

    def kinds(self) -> Counter[str]:
        counted = Counter(call.method for call in self.calls)
        counted["acknowledgement"] = len(self.acks)
        return counted


def sent_since(fake: FakeSlack, start: int) -> list[RecordedCall]:
    return [call for call in fake.calls[start:] if call.method in MESSAGE_METHODS + VIEW_METHODS]


def elements(tree: Any) -> Iterator[dict[str, Any]]:
    """Every object in a Block Kit tree."""
    if isinstance(tree, dict):
        yield tree
        for value in tree.values():
            yield from elements(value)
    elif isinstance(tree, list):
        for item in tree:
            yield from elements(item)


def check_blocks(where: str, blocks: list[dict[str, Any]], collected: Collected) -> None:
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, f"{where}: slack_sdk does not know {block}"
        parsed.to_dict()  # raises on every limit slack_sdk knows
    for element in elements(blocks):
        if element.get("type") == "button":
            collected.buttons += 1
            text = element["text"]["text"]
            assert len(text) <= MAX_BUTTON_TEXT_SHOWN, f"{where}: button {text!r} is {len(text)} characters"
            if needs_accessibility_label(text):
                assert element.get("accessibility_label"), (
                    f"{where}: button {text!r} has no accessibility_label"
                )
        for option in [
            *element.get("options", []),
            *(o for g in element.get("option_groups", []) for o in g["options"]),
        ]:
            collected.options += 1
            text = option["text"]["text"]
            assert len(text) <= MAX_OPTION_TEXT, f"{where}: option {text!r} is {len(text)} characters"
            description = (option.get("description") or {}).get("text", "")
            assert len(description) <= MAX_OPTION_TEXT, f"{where}: option description {description!r}"


def check_message(where: str, message: dict[str, Any], collected: Collected) -> None:
    if message.get("delete_original"):
        return
    text = message.get("text")
    assert isinstance(text, str) and text.strip(), f"{where}: no notification text in {message}"
    check_blocks(where, message.get("blocks") or [], collected)


def check_view(where: str, view: dict[str, Any], collected: Collected) -> None:
    View(**view).to_dict()  # title, submit and close within 24 characters, 1 to 100 blocks
    for name in ("title", "submit", "close"):
        if view.get(name) is not None:
            assert len(view[name]["text"]) <= MAX_VIEW_TEXT, f"{where}: {name} {view[name]['text']!r}"
    assert 0 < len(view["blocks"]) <= MAX_VIEW_BLOCKS
    check_blocks(where, view["blocks"], collected)


def chart_shared(fake: FakeSlack, channel: str) -> RecordedCall:
    """Wait for a report's chart to be shared in `channel`: the last thing the app sends for a personal
    run, so everything it sent for the run is there to check."""
    return fake.wait_for(
        "files.completeUploadExternal", lambda c: c.ok and c.params.get("channel_id") == channel, timeout=WAIT
    )


def check_everything(fake: FakeSlack, start: int, acks: list[Acknowledgement], flow: str) -> Collected:
    """Check what the app sent since call `start`; the caller has waited for the flow's last call."""
    collected = Collected(calls=sent_since(fake, start))
    collected.acks = [
        a.payload for a in acks if a.payload and (a.payload.get("text") or a.payload.get("blocks"))
    ]
    for index, call in enumerate(collected.calls):
        where = f"{flow} #{index} {call.method}"
        if call.method in VIEW_METHODS:
            check_view(where, call.params["view"], collected)
        else:
            check_message(where, call.params, collected)
    for index, payload in enumerate(collected.acks):
        check_message(f"{flow} acknowledgement #{index}", payload, collected)
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(collected.kinds().items()))
    MEASURED.append(
        f"slack-native check, {flow}: {len(collected.calls) + len(collected.acks)} sent ({kinds}); "
        f"{collected.buttons} buttons and {collected.options} options within limits"
    )
    return collected


def answer_to_the_end(user: SlackUser, question: dict[str, Any], limit: int = 60) -> dict[str, Any]:
    """Click the best answer until the question message becomes the report (the worker puts it there
    once the last click said it is on its way); returns the report."""
    for _ in range(limit):
        click_and_wait(user, question, best_option(question))
        question = next(m for m in user.dm_messages() if m["ts"] == question["ts"])
        if not answer_buttons(question):
            return report_in_place_of(user, question["ts"])
    raise AssertionError(f"still asking after {limit} answers")


def report_in_place_of(user: SlackUser, ts: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while "maturity report" not in (shown := next(m for m in user.dm_messages() if m["ts"] == ts))["text"]:
        assert time.monotonic() < deadline, "the report never replaced the last question"
        time.sleep(0.01)
    return shown


def wait_for_question(user: SlackUser) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while (question := user.current_question()) is None:
        assert time.monotonic() < deadline, "no question reached the DM"
        time.sleep(0.01)
    return question


def open_modal(user: SlackUser, text: str, callback_id: str) -> tuple[dict[str, Any], Acknowledgement]:
    """Type the command and wait for its modal; checks and records how soon it opened."""
    sent_at = time.time()
    acknowledged = user.command(text)
    assert acknowledged.status == 200 and acknowledged.payload is None, acknowledged.body
    trigger = user.last_trigger_id
    opened = user.fake.wait_for("views.open", lambda c: c.params.get("trigger_id") == trigger, timeout=WAIT)
    assert opened.ok, opened.response  # the fake refuses a trigger over 3 seconds old, or used before
    age = user.fake.trigger_age_when_exchanged(str(trigger))
    assert age is not None and age <= TRIGGER_LIFETIME_SECONDS
    MEASURED.append(
        f"`{text}` to views.open: {(opened.received_at - sent_at) * 1000:.1f} ms, the trigger "
        f"{age * 1000:.1f} ms old when exchanged (Slack allows {TRIGGER_LIFETIME_SECONDS * 1000:.0f} ms)"
    )
    modal = user.modal()
    assert modal["callback_id"] == callback_id
    return modal, acknowledged


def test_a_personal_run_sends_only_what_every_client_shows_whole(
    fake_slack: FakeSlack, user: SlackUser
) -> None:
    question = start(user)
    acks = [user.command("banks"), user.command("help")]
    # Back once, so the marked earlier answer is among what is checked.
    click_and_wait(user, question, best_option(question))
    second = wait_for_question(user)
    click_and_wait(user, second, button_labelled(second, "Back"))
    question = wait_for_question(user)
    report = answer_to_the_end(user, question)
    assert "maturity report" in report["text"]
    fake_slack.wait_for("chat.postMessage", lambda c: bool(c.params.get("thread_ts")), timeout=WAIT)
    chart_shared(fake_slack, user.channel_id)
    # The Home tab, which now lists the result.
    acks.append(user.open_app_home())
    fake_slack.wait_for("views.publish", timeout=WAIT)
    collected = check_everything(fake_slack, 0, acks, "personal run")
    kinds = collected.kinds()
    assert kinds["chat.update"] >= 27 and kinds["chat.postMessage"] >= 3 and kinds["response_url"] >= 1
    assert kinds["views.publish"] == 1


def test_the_shortcut_starts_a_personal_run_whose_report_stays_in_the_dm(
    fake_slack: FakeSlack, user: SlackUser
) -> None:
    acknowledged = user.shortcut(START_SHORTCUT)
    assert acknowledged.status == 200
    fake_slack.wait_for(
        "chat.postMessage",
        lambda c: c.params.get("text") == shortcut_started_text(DEFAULT_BANK),
        timeout=WAIT,
    )
    report = answer_to_the_end(user, wait_for_question(user))
    assert "maturity report" in report["text"]
    # Nothing went to a channel: no copy of the report, and its chart under the DM's report.
    chart = chart_shared(fake_slack, user.dm_channel)
    assert chart.params["thread_ts"] == report["ts"]
    check_everything(fake_slack, 0, [acknowledged], "personal run from the shortcut")
    assert {c.params["channel"] for c in fake_slack.calls_to("chat.postMessage")} == {user.dm_channel}
    shared_to = {c.params.get("channel_id") for c in fake_slack.calls_to("files.completeUploadExternal")}
    assert shared_to == {user.dm_channel}


def counted_note_in(dm: str) -> Callable[[RecordedCall], bool]:
    return lambda call: call.params.get("channel") == dm and "in the team run" in str(call.params)


def test_a_team_run_set_up_in_its_modal_sends_only_what_every_client_shows_whole(
    fake_slack: FakeSlack, app: AppProcess, user: SlackUser
) -> None:
    members = [new_user(fake_slack, app, team_id=user.team_id, channel_id=user.channel_id) for _ in range(2)]
    fake_slack.set_channel_members(user.channel_id, [user.user_id, *(m.user_id for m in members)])
    modal, typed = open_modal(user, "team", TEAM_SETUP_CALLBACK)

    refused = user.submit_view(modal, {"days": "45"})
    assert refused.payload is not None and refused.payload["response_action"] == "errors"
    assert list(refused.payload["errors"]) == ["days"]
    accepted = user.submit_view(modal, {"bank": "pulse", "days": "3"})
    assert accepted.status == 200 and accepted.payload is None

    run_post = fake_slack.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == user.channel_id, timeout=WAIT
    )
    fake_slack.wait_for("chat.postEphemeral", lambda c: c.params.get("user") == user.user_id, timeout=WAIT)
    for person in [user, *members]:
        run_message = next(
            m for m in fake_slack.messages(user.channel_id) if m["ts"] == run_post.response["ts"]
        )
        click_and_wait(
            person, run_message, button_labelled(run_message, "Take part"), channel_id=user.channel_id
        )
        answer_to_the_end(person, wait_for_question(person))
        # The note that the answers were counted comes last.
        fake_slack.wait_for("chat.postMessage", counted_note_in(person.dm_channel), timeout=WAIT)
    # The Home tab, which lists the open run.
    home = user.open_app_home()
    fake_slack.wait_for("views.publish", timeout=WAIT)
    run_message = next(m for m in fake_slack.messages(user.channel_id) if m["ts"] == run_post.response["ts"])
    click_and_wait(
        user, run_message, button_labelled(run_message, "Close & show results"), channel_id=user.channel_id
    )
    reported = fake_slack.wait_for(
        "chat.postMessage", lambda c: str(c.params.get("text")).startswith("Team MLOps report"), timeout=WAIT
    )
    # Last, the run's message loses its buttons.
    fake_slack.wait_for(
        "chat.update",
        lambda c: c.params.get("ts") == run_post.response["ts"],
        after=fake_slack.calls.index(reported),
        timeout=WAIT,
    )
    collected = check_everything(fake_slack, 0, [typed, refused, accepted, home], "team run via its modal")
    assert collected.kinds()["views.open"] == 1 and collected.kinds()["views.publish"] == 1


def test_a_schedule_set_up_in_its_modal_sends_only_what_every_client_shows_whole(
    fake_slack: FakeSlack, user: SlackUser
) -> None:
    modal, typed = open_modal(user, "schedule", SCHEDULE_SETUP_CALLBACK)
    client = redis.Redis.from_url(REAL_REDIS_URL)
    before = workspace_state(client, user.team_id)
    refused = user.submit_view(modal, {"rule": "cron", "cron": "*/15 * * * *"})
    assert refused.payload is not None and refused.payload["response_action"] == "errors"
    assert "at most once a day" in refused.payload["errors"]["cron"]
    assert workspace_state(client, user.team_id) == before  # a refused submission changes nothing
    accepted = user.submit_view(modal, {"rule": "monthly", "time": "09:30", "audience": "team"})
    assert accepted.payload is None
    created = fake_slack.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == user.channel_id, timeout=WAIT
    )
    assert (
        f"<@{user.user_id}> scheduled a monthly MLOps Quarterly Pulse (a team run)" in created.params["text"]
    )
    listed = user.command("schedule list")
    fake_slack.wait_for("response_url", lambda c: "Reminders in" in str(c.params.get("text")), timeout=WAIT)
    collected = check_everything(fake_slack, 0, [typed, refused, accepted, listed], "schedule via its modal")
    assert collected.kinds()["views.open"] == 1


def test_typed_arguments_still_set_up_without_a_modal(fake_slack: FakeSlack, user: SlackUser) -> None:
    fake_slack.set_channel_members(user.channel_id, [user.user_id])
    user.command("team pulse closes in 2 days")
    fake_slack.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == user.channel_id, timeout=WAIT
    )
    user.command("schedule quarterly full")
    fake_slack.wait_for(
        "response_url", lambda c: "scheduled a quarterly" in str(c.params.get("text")), timeout=WAIT
    )
    assert fake_slack.calls_to("views.open") == []
    assert buttons_of(fake_slack.messages(user.channel_id)[0])[0].label == "Take part"


BUTTON = {
    "type": "button",
    "action_id": "a",
    "text": {"type": "plain_text", "text": "Take part"},
    "value": "v",
}


def _actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"text": "A message", "blocks": [{"type": "actions", "elements": list(elements)}]}


@pytest.mark.parametrize(
    ("message", "says"),
    [
        (
            _actions(
                {**BUTTON, "text": {"type": "plain_text", "text": "Some projects in Git; many not yet"}}
            ),
            "characters",
        ),
        (_actions({**BUTTON, "text": {"type": "plain_text", "text": "←"}}), "accessibility_label"),
        (_actions({**BUTTON, "text": {"type": "plain_text", "text": "N/A"}}), "accessibility_label"),
        (
            _actions(
                {
                    "type": "radio_buttons",
                    "action_id": "r",
                    "options": [{"text": {"type": "plain_text", "text": "x" * 76}, "value": "v"}],
                }
            ),
            "76 characters",
        ),
        ({"text": " ", "blocks": []}, "notification text"),
        ({"text": "A message", "blocks": [{"type": "tabletop"}]}, "does not know"),
    ],
)
def test_the_checks_catch_what_a_client_shows_badly(message: dict[str, Any], says: str) -> None:
    with pytest.raises(AssertionError, match=says):
        check_message("example", message, Collected())


def test_the_checks_catch_a_modal_slack_refuses() -> None:
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "A title of 25 characters!"},
        "blocks": [],
    }
    with pytest.raises(SlackObjectFormationError):
        check_view("example", view, Collected())
