"""Slack's rate limits as every process sees them: when Slack answers a Web API method in a workspace with
429 and Retry-After, the pause is one key (``keys.slack_method_paused``) that expires when the pause ends,
so that every process and thread waits it out instead of each finding the limit by a 429 of its own.

Recording a pause is one SET PX; looking one up is one PTTL. A pause only ever grows: a shorter
Retry-After (from a call that was already on its way) does not cut short a longer one.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from bot.store import keys
from bot.store.sessions import _unavailable_on_connection_error

# KEYS: the pause. ARGV: its length (ms). Keeps the longer of the pause set and this one.
_PAUSE = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
"""


@dataclass(frozen=True)
class SlackMethodPauses:
    """The pauses Slack asked for, per workspace and Web API method."""

    redis: redis.Redis

    def pause(self, team_id: str, method: str, milliseconds: int) -> None:
        """No process calls `method` in `team_id` for the next `milliseconds` (or longer, if a longer
        pause is already set)."""
        if milliseconds <= 0:
            return
        with _unavailable_on_connection_error():
            self.redis.eval(_PAUSE, 1, keys.slack_method_paused(team_id, method), milliseconds)

    def left_ms(self, team_id: str, method: str) -> int:
        """How long `method` in `team_id` is still paused; 0 when it is not."""
        with _unavailable_on_connection_error():
            return max(0, int(self.redis.pttl(keys.slack_method_paused(team_id, method))))
