"""The deployment files agree with the app and with each other: the Dockerfile, compose.yaml and the
override its check adds, the systemd units and .env.example run the Procfile's commands with the settings
the app reads, and the reverse proxy's example lets through what the app accepts.

No Docker engine is needed: `.ci/compose-check` runs the stack itself where one is."""

from __future__ import annotations

import inspect
import json
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from configparser import ConfigParser
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from slack_bolt.oauth.oauth_settings import OAuthSettings

from bot.cli.web import HEALTH_PATH, MAX_BODY_BYTES
from bot.settings import COMMAND_SETTINGS, ClockSettings, Settings, WorkerSettings, read_settings

ROOT = Path(__file__).resolve().parents[1]
APP_SERVICES = ("web", "worker", "clock")
ENV_LINE = re.compile(r"^(?:#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")
COMPOSE_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::-([^}]*))?\}")


def procfile() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {
        name: shlex.split(command) for name, _, command in (line.partition(":") for line in lines if line)
    }


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """Each stage's instructions as (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        instruction, _, arguments = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), " ".join(arguments.split())))
    return stages


def final_stage(instruction: str) -> list[str]:
    return [arguments for name, arguments in dockerfile_stages()[-1] if name == instruction]


def compose(name: str = "compose.yaml") -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / name).read_text())
    return loaded


def healthcheck_command() -> list[str]:
    (healthcheck,) = final_stage("HEALTHCHECK")
    command: list[str] = json.loads(healthcheck.partition(" CMD ")[2])
    return command


def env_example() -> dict[str, tuple[str, bool]]:
    """Each NAME in .env.example: its value, and whether the line is set rather than commented out."""
    found = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if match := ENV_LINE.match(line):
            found[match[1]] = (match[2], not line.startswith("#"))
    return found


def settings_read() -> set[str]:
    return {name.upper() for model in COMMAND_SETTINGS.values() for name in model.model_fields}


# The image ------------------------------------------------------------------------------------------


def test_the_image_runs_the_web_process_by_default_as_the_procfile_does() -> None:
    assert [json.loads(command) for command in final_stage("CMD")] == [procfile()["web"]]


def test_the_image_installs_the_versions_ci_tests_on_a_python_the_project_supports() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "the project is built in a stage of its own, whose build tools stay there"
    requires = SpecifierSet(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    )
    for stage in stages:
        base = re.match(r"python:(3\.\d+)-slim\b", stage[0][1])
        assert base is not None, stage[0]
        assert requires.contains(f"{base[1]}.0"), base[1]
    builds = [
        args for stage in stages[:-1] for name, args in stage if name == "RUN" and "pip install" in args
    ]
    assert any(re.search(r"pip install -c constraints\.txt \.$", command) for command in builds), builds
    assert not [args for name, args in stages[-1] if name == "RUN" and "pip install" in args]
    assert any(args.startswith("--from=") for args in final_stage("COPY"))


def test_the_image_runs_as_a_user_of_its_own_not_root() -> None:
    (user,) = final_stage("USER")
    assert user.split(":")[0] not in ("root", "0")
    assert any("useradd" in command and command.endswith(f" {user}") for command in final_stage("RUN"))


def test_the_image_exposes_the_port_the_web_process_listens_on() -> None:
    assert final_stage("EXPOSE") == [str(Settings.model_fields["port"].default)]


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == HEALTH_PATH else 404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def health_server(status: int) -> Iterator[int]:
    handler = type("Health", (_Health,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_the_images_health_check_passes_only_when_get_health_answers_200(status: int, healthy: bool) -> None:
    program, *arguments = healthcheck_command()
    assert program == "python"
    with health_server(status) as port:
        ran = subprocess.run([sys.executable, *arguments], env={"PORT": str(port)}, capture_output=True)
    assert (ran.returncode == 0) is healthy, ran.stderr


def test_only_what_the_image_is_built_from_is_sent_to_the_builder() -> None:
    rules = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if not line.startswith("#")]
    assert rules[0] == "*", "everything is left out, .env with the Slack secrets first, unless let in"
    let_in = {rule[1:] for rule in rules if rule.startswith("!")}
    copied = {
        source
        for name, arguments in dockerfile_stages()[0]
        if name == "COPY"
        for source in arguments.split()[:-1]
    }
    assert copied == let_in
    assert not any(name.startswith(".env") for name in let_in)


# compose.yaml -----------------------------------------------------------------------------------------


def test_compose_runs_the_procfiles_processes_from_one_image_and_redis() -> None:
    services = compose()["services"]
    assert set(services) == {*APP_SERVICES, "redis"}
    assert {name: shlex.split(services[name]["command"]) for name in APP_SERVICES} == procfile()
    assert len({(services[name]["image"], services[name]["build"]) for name in APP_SERVICES}) == 1
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["redis"] == {"condition": "service_healthy"}
        assert services[name]["env_file"]
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert services[name]["restart"] in ("always", "unless-stopped", "on-failure")
    # The image's health check asks the web process's port, which the worker and the clock do not open.
    assert "healthcheck" not in services["web"]
    assert all(services[name]["healthcheck"] == {"disable": True} for name in ("worker", "clock"))


def test_compose_publishes_the_port_the_web_process_listens_on_in_the_container() -> None:
    web = compose()["services"]["web"]
    container_port = web["environment"]["PORT"]
    assert final_stage("EXPOSE") == [container_port]
    (published,) = web["ports"]
    assert published.rpartition(":")[2] == container_port


def test_compose_keeps_redis_persisted_and_never_evicting() -> None:
    document = compose()
    redis = document["services"]["redis"]
    assert redis["image"].split(":")[1].split(".")[0] == "7"
    options = dict(zip(redis["command"][1::2], redis["command"][2::2], strict=True))
    assert options["--appendonly"] == "yes"
    assert options["--maxmemory-policy"] == "noeviction"
    (volume,) = redis["volumes"]
    name, path = volume.split(":")
    assert path == "/data"
    assert name in document["volumes"], "a named volume, kept across `docker compose down`"
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_the_checks_override_points_the_app_at_its_fake_slack() -> None:
    base, check = compose()["services"], compose("deploy/compose.check.yaml")["services"]
    fake = check["fakeslack"]
    options = dict(argument.removeprefix("--").split("=", 1) for argument in fake["command"][2:])
    fake_slack = f"http://{options['fake-slack-host']}:{options['fake-slack-port']}"
    assert options["app-url"] == f"http://web:{base['web']['environment']['PORT']}"
    assert (fake["image"], fake["build"]) == (base["web"]["image"], base["web"]["build"])
    for name in APP_SERVICES:
        assert check[name]["environment"]["SLACK_API_URL"] == f"{fake_slack}/api/"
        assert check[name]["depends_on"]["fakeslack"] == {"condition": "service_healthy"}
    assert f"{fake_slack}/health" in " ".join(fake["healthcheck"]["test"])
    (mount,) = fake["volumes"]
    source, target, _ = mount.split(":")
    assert (ROOT / source).is_file()
    assert fake["command"][1] == target


# .env.example -----------------------------------------------------------------------------------------


def test_env_example_lists_every_setting_and_sets_only_the_required_ones() -> None:
    listed = env_example()
    compose_variables = set(COMPOSE_VARIABLE.findall((ROOT / "compose.yaml").read_text()))
    assert set(listed) - settings_read() <= {name for name, _ in compose_variables}
    assert settings_read() <= set(listed)
    required = {name.upper() for name, field in Settings.model_fields.items() if field.is_required()}
    # The bot token is required unless OAuth is on, which the example leaves off.
    assert {name for name, (_, is_set) in listed.items() if is_set} == required | {"SLACK_BOT_TOKEN"}


def test_env_examples_commented_out_values_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = {name: value for name, (value, is_set) in env_example().items() if value and not is_set}
    read_by_the_app = {name: value for name, value in shown.items() if name in settings_read()}
    for name, value in read_by_the_app.items():
        monkeypatch.setenv(name, value)
    tokens = {"slack_bot_token": "xoxb-example", "slack_signing_secret": "example-secret"}
    for loaded in (read_settings(kind, **tokens) for kind in (Settings, WorkerSettings, ClockSettings)):
        defaults = type(loaded).model_fields
        for field in {name.lower() for name in read_by_the_app} & defaults.keys():
            assert getattr(loaded, field) == defaults[field].default, field
    compose_defaults = dict(COMPOSE_VARIABLE.findall((ROOT / "compose.yaml").read_text()))
    for name in shown.keys() - read_by_the_app.keys():
        assert shown[name] == compose_defaults[name], name


# systemd ---------------------------------------------------------------------------------------------


class UnitFile(ConfigParser):
    """A systemd unit: `NAME=value` lines in sections, names kept as written."""

    def __init__(self) -> None:
        super().__init__(interpolation=None, delimiters=("=",), empty_lines_in_values=False)

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def unit(process: str) -> UnitFile:
    parser = UnitFile()
    parser.read_string((ROOT / "deploy" / "systemd" / f"mlops-compass-{process}.service").read_text())
    return parser


@pytest.mark.parametrize("process", list(procfile()))
def test_each_systemd_unit_runs_its_procfile_command_hardened(process: str) -> None:
    service = unit(process)["Service"]
    program, *arguments = shlex.split(service["ExecStart"])
    expected_program, *expected_arguments = procfile()[process]
    assert Path(program).name == expected_program
    # Options may follow, such as the web process's --host.
    assert arguments[: len(expected_arguments)] == expected_arguments
    assert service["User"] not in ("root", "0", "")
    assert service["EnvironmentFile"].startswith("/")
    assert service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"


def test_there_is_a_systemd_unit_for_each_procfile_process_and_no_other() -> None:
    units = {path.name for path in (ROOT / "deploy" / "systemd").glob("*.service")}
    assert units == {f"mlops-compass-{process}.service" for process in procfile()}


# The reverse proxy ---------------------------------------------------------------------------------------


def nginx_example() -> str:
    (block,) = re.findall(r"```nginx\n(.*?)```", (ROOT / "docs" / "operations.md").read_text(), re.DOTALL)
    return str(block)


def test_the_proxy_example_accepts_the_bodies_the_app_accepts_and_no_larger() -> None:
    size, unit_letter = re.findall(r"client_max_body_size (\d+)([kmg]?);", nginx_example())[0]
    assert int(size) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit_letter] == MAX_BODY_BYTES


def test_the_proxy_example_forwards_the_events_health_and_install_paths_and_nothing_else() -> None:
    forwarded = dict(re.findall(r"location = (\S+) \{\s*proxy_pass (\S+);", nginx_example()))
    web = compose()["services"]["web"]
    published = web["ports"][0]
    default_publish = COMPOSE_VARIABLE.search(published)
    assert default_publish is not None
    # The install link and Slack's redirect back are Bolt's, in OAuth mode.
    oauth = inspect.signature(OAuthSettings).parameters
    install_paths = {oauth["install_path"].default, oauth["redirect_uri_path"].default}
    assert set(forwarded) == {"/slack/events", HEALTH_PATH, *install_paths}
    assert {urlsplit(url).netloc for url in forwarded.values()} == {default_publish[2]}
    assert re.search(r"location / \{\s*return 404;\s*\}", nginx_example()), "anything else is not found"
