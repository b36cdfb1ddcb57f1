"""The production layout names only settings that exist, and scrapes the ports services use."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from hbs_grades.settings import GradesSettings
from hbs_identity.settings import IdentitySettings
from hbs_portal.settings import PortalSettings
from hbs_shared.settings import ServiceSettings
from hbs_signing.settings import SigningSettings

PRODUCTION = Path(__file__).parent.parent / "deploy" / "production"
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
