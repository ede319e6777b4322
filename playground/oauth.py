"""`mlops-compass-playground --oauth`: the app distributed by OAuth, installed into fake workspaces through
its real install flow.

The app runs with a client id and secret (which the fake Slack's oauth.v2.access accepts) and a Fernet key
made for this run, and with no bot token of its own. Each workspace installs it as a person would from a
browser: the app's install page (`GET /slack/install`) and the state cookie it sets, the page's "Add to
Slack" link to Slack's authorize page, where the fake workspace approves the install, and the redirect back
to the app (`GET /slack/oauth_redirect`), which exchanges the code for the workspace's bot token.
"""

from __future__ import annotations

import html
import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.fernet import Fernet
from rich.console import Console
from rich.markup import escape

from playground.fakeslack import FakeSlack, RecordedCall
from playground.fakeslack.app_process import AppProcess

# The two fake workspaces the playground installs the app into, in order; the session runs in the last.
WORKSPACES: Final = ("T0PLAYONE", "T0PLAYTWO")
# Slack's client ids are two numbers joined by a dot; the fake accepts any id with a secret.
CLIENT_ID: Final = "1000000001.2000000002"
# The cookie Bolt's install page sets, which the redirect back must carry.
STATE_COOKIE: Final = "slack-app-oauth-state"
HTTP_TIMEOUT_SECONDS: Final = 15
_AUTHORIZE_LINK = re.compile(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"')


class InstallFailed(RuntimeError):
    """A step of the install flow did not answer as Slack's and Bolt's do."""


@dataclass(frozen=True)
class Installation:
    team_id: str
    team_name: str
    install_page: str
    authorize_link: str
    bot_token: str


def oauth_settings() -> dict[str, str]:
    """The app's settings for OAuth in the fake Slack: a fresh key, so nothing outlives the run."""
    return {
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": secrets.token_hex(16),
        "SLACK_INSTALLATION_KEYS": Fernet.generate_key().decode(),
    }


def _get(url: str, cookie: str | None = None) -> tuple[int, str, str | None]:
    """Status, body and the cookie set, for a GET as a browser makes it."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            set_cookie = response.headers.get("Set-Cookie")
            return response.status, response.read().decode(), set_cookie
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode(errors="replace"), None


def install(app: AppProcess, fake: FakeSlack, team_id: str, installer_id: str) -> Installation:
    """`installer_id` installs the app into `team_id` from the app's install page."""
    install_page = f"{app.url}/slack/install"
    status, page, set_cookie = _get(install_page)
    found = _AUTHORIZE_LINK.search(page)
    if status != 200 or found is None or set_cookie is None or not set_cookie.startswith(STATE_COOKIE):
        raise InstallFailed(f"{install_page} answered {status} with no Add to Slack link and state cookie")
    link = html.unescape(found.group(1))
    cookie = set_cookie.split(";", 1)[0]
    state = parse_qs(urlsplit(link).query).get("state", [""])[0]
    code = fake.approve_install(team_id, installer_id)
    back = f"{app.url}/slack/oauth_redirect?{urlencode({'code': code, 'state': state})}"
    status, answer, _ = _get(back, cookie)
    token = fake.bot_token_of(team_id)
    if status != 200 or token is None:
        raise InstallFailed(f"the app's /slack/oauth_redirect answered {status}: {answer[:200]}")
    exchanged = fake.calls_to("oauth.v2.access")[-1]
    return Installation(team_id, exchanged.response["team"]["name"], install_page, link, token)


def install_workspaces(
    console: Console, app: AppProcess, fake: FakeSlack, installer_id: str, installer_name: str
) -> list[Installation]:
    """Every one of WORKSPACES installs the app, each told on the console with the links followed."""
    installed = []
    for team_id in WORKSPACES:
        done = install(app, fake, team_id, installer_id)
        console.print(
            f"Installed the app in [bold]{escape(done.team_name)}[/] ({done.team_id}) as @{installer_name}: "
            f"opened {done.install_page}, followed its Add to Slack link "
            f"{escape(done.authorize_link)}, approved it in the fake workspace, and came back to "
            f"/slack/oauth_redirect, which exchanged the code (oauth.v2.access) for the workspace's bot "
            f"token {_shown(done.bot_token)}.",
            style="dim",
            soft_wrap=True,
        )
        installed.append(done)
    return installed


def _shown(token: str) -> str:
    return f"{token[:-8]}…"


def bearer(call: RecordedCall) -> str:
    return call.headers.get("authorization", "").removeprefix("Bearer ")


def tokens_used(calls: Sequence[RecordedCall]) -> set[str]:
    """The tokens the Web API calls in `calls` carried (not the response URLs' or uploads' requests)."""
    return {bearer(call) for call in calls if "." in call.method and call.method != "oauth.v2.access"}


def report_tokens(console: Console, installation: Installation, calls: Sequence[RecordedCall]) -> bool:
    """Whether every Web API call in `calls` carried `installation`'s bot token, as the console says."""
    used = tokens_used(calls)
    made = sum(1 for call in calls if "." in call.method)
    if used == {installation.bot_token}:
        console.print(
            f"Each of the app's {made} Web API calls in {installation.team_name} carried that "
            f"workspace's bot token {_shown(installation.bot_token)}.",
            style="dim",
        )
        return True
    others = sorted(_shown(token) if token else "(none)" for token in used - {installation.bot_token})
    console.print(
        f"The app called Slack for {installation.team_name} with other tokens too: {', '.join(others)}",
        style="red",
    )
    return False
