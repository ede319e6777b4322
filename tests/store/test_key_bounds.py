"""Every key the product writes is bounded: bot/store/keys.py declares, for each key builder and each
global index, how it expires, is trimmed, or is deleted. A new builder without a bound fails here."""

from __future__ import annotations

import inspect

from bot.store import keys


def builders() -> list[str]:
    return [
        name
        for name, function in inspect.getmembers(keys, inspect.isfunction)
        if function.__module__ == keys.__name__ and not name.startswith("_") and name != "bounded"
    ]


def test_every_key_builder_declares_its_bound() -> None:
    unbounded = [name for name in builders() if name not in keys.BOUNDS and name not in keys.HELPERS]
    assert unbounded == [], f"key builders in bot/store/keys.py without a declared bound: {unbounded}"
    for name, (kind, how) in keys.BOUNDS.items():
        assert kind in ("expires", "trimmed", "deleted", "global") and how.strip(), name


def test_a_helper_is_no_key_builder_in_disguise() -> None:
    """A helper takes no bound, so it must not be where a key is built: its names are the patterns and
    members the builders' keys are found by."""
    assert {
        "clock_member",
        "split_clock_member",
        "watched_session",
        "split_watched_session",
        "result_pattern",
        "report_delivery_pattern",
        "history_pattern",
        "personal_data_patterns",
        "personal_memberships",
        "workspace_pattern",
        "installation_patterns",
    } == keys.HELPERS


def test_every_global_index_declares_its_bound() -> None:
    constants = {
        value
        for name, value in vars(keys).items()
        if name.isupper() and isinstance(value, str) and value.startswith(keys.CLOCK + ":")
    }
    # The clocks' heartbeats are global too, outside the clock's slot: no script moves work into them.
    assert constants | {keys.CLOCK_HEARTBEATS} == set(keys.GLOBAL_BOUNDS)
    assert set(keys.CLOCK_INDEXES) | {keys.PENDING_DELIVERIES} == constants
