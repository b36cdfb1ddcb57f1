"""The Kubernetes layout (deploy/k8s, issue 14): it renders, validates strictly against the
Kubernetes schemas offline, and says what the province needs: probes, limits, disruption budgets,
the signing autoscaler, migrations before the rollout, secrets only by reference, network policies
(only the portal from outside, only signing to the HSM), three replicated KRaft brokers with SCRAM
and per-service ACLs, and a database role per service."""

from __future__ import annotations

import asyncio
import base64
import copy
import ipaddress
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hbs_grades.settings import GradesSettings
from hbs_identity.settings import IdentitySettings
from hbs_portal.settings import PortalSettings
from hbs_shared.messaging import topics
from hbs_shared.settings import ServiceSettings
from hbs_signing.settings import SigningSettings

ROOT = Path(__file__).parent.parent
K8S = ROOT / "deploy" / "k8s"
SERVICES: dict[str, type[ServiceSettings]] = {
    "identity": IdentitySettings,
    "grades": GradesSettings,
    "signing": SigningSettings,
    "portal": PortalSettings,
}
KUBERNETES_VERSION = "1.31.0"
NAMESPACED_KINDS_WITHOUT = {"Namespace"}


# --- rendering: `kustomize build` for the subset of Kustomize these files use ------------------


def _load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def render(folder: Path) -> list[dict[str, Any]]:
    """What `kustomize build folder` gives, for what deploy/k8s uses: resources (files and
    folders), namespace, labels (metadata only), configMapGenerator from files without a hash
    suffix, images. Anything else in a kustomization.yaml fails here, so the two cannot drift."""
    spec = yaml.safe_load((folder / "kustomization.yaml").read_text())
    known = {"apiVersion", "kind", "namespace", "labels", "resources", "configMapGenerator", "images"}
    assert set(spec) <= known, (
        f"{folder}: kustomization fields this renderer does not know: {set(spec) - known}"
    )
    objects: list[dict[str, Any]] = []
    for resource in spec.get("resources", []):
        path = folder / resource
        objects.extend(render(path) if path.is_dir() else _load_all(path))
    for generator in spec.get("configMapGenerator", []):
        assert generator.get("options", {}).get("disableNameSuffixHash") is True, generator["name"]
        data = {Path(f).name: (folder / f).read_text() for f in generator["files"]}
        objects.append(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data}
        )
    for obj in objects:
        meta = obj.setdefault("metadata", {})
        if "namespace" in spec and obj["kind"] not in NAMESPACED_KINDS_WITHOUT:
            meta["namespace"] = spec["namespace"]
        for label in spec.get("labels", []):
            assert set(label) == {"pairs"}, label
            meta.setdefault("labels", {}).update(label["pairs"])
        for image in spec.get("images", []):
            for container in _containers(obj):
                if container["image"] == image["name"]:
                    container["image"] = f"{image['newName']}:{image['newTag']}"
    return objects


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    spec = obj.get("spec", {})
    if obj["kind"] in {"Deployment", "StatefulSet", "Job"}:
        pod: dict[str, Any] = spec["template"]["spec"]
        return pod
    return None


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    pod = _pod_spec(obj)
    if pod is None:
        return []
    return [*pod.get("initContainers", []), *pod["containers"]]


def _by(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


@pytest.fixture(scope="module")
def whole() -> list[dict[str, Any]]:
    return render(K8S)


@pytest.fixture(scope="module")
def migrate() -> list[dict[str, Any]]:
    return render(K8S / "migrate")


def _kustomize_command() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        done = subprocess.run(["kubectl", "version", "--client"], capture_output=True, text=True, timeout=60)
        # kubectl 1.21+ embeds Kustomize v4+, which knows the `labels` field used here.
        if done.returncode == 0 and re.search(r"Kustomize Version: v[45]", done.stdout):
            return ["kubectl", "kustomize"]
    return None


# --- the tests ------------------------------------------------------------------------------


def test_every_manifest_validates_strictly_against_the_kubernetes_schemas(
    whole: list[dict[str, Any]], migrate: list[dict[str, Any]]
) -> None:
    assert len(whole) > 30
    for obj in [*whole, *migrate]:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_kubernetes_validate_command_accepts_the_rendered_files(
    whole: list[dict[str, Any]], migrate: list[dict[str, Any]], tmp_path: Path
) -> None:
    rendered = tmp_path / "hbs.yaml"
    rendered.write_text(yaml.safe_dump_all([*whole, *migrate], sort_keys=False))
    command = Path(sys.executable).parent / "kubernetes-validate"
    done = subprocess.run(
        [str(command), "--strict", "--quiet", "-k", KUBERNETES_VERSION, str(rendered)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_strict_validation_refuses_a_misspelt_field(whole: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(_by(whole, "Deployment")["signing"])
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/readyz"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_the_python_rendering_is_what_kustomize_builds() -> None:
    command = _kustomize_command()
    if command is None:
        pytest.skip("neither kustomize nor a kubectl with Kustomize v4+ here: the Python rendering alone")
    for folder in (K8S, K8S / "migrate"):
        done = subprocess.run([*command, str(folder)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        built = {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(done.stdout) if o}
        ours = {(o["kind"], o["metadata"]["name"]): o for o in render(folder)}
        assert built == ours


def test_each_service_has_probes_limits_replicas_and_a_disruption_budget(whole: list[dict[str, Any]]) -> None:
    deployments = _by(whole, "Deployment")
    budgets = _by(whole, "PodDisruptionBudget")
    services = _by(whole, "Service")
    assert set(deployments) == set(SERVICES)
    for name, settings in SERVICES.items():
        deployment = deployments[name]
        assert deployment["spec"]["replicas"] >= 2, name
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        port = settings.model_fields["port"].default
        assert container["ports"] == [{"name": "http", "containerPort": port}], name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        for kind in ("requests", "limits"):
            assert set(container["resources"][kind]) == {"cpu", "memory"}, (name, kind)
        budget = budgets[name]["spec"]
        assert budget["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"], name
        assert budget.get("minAvailable", 0) < deployment["spec"]["replicas"], (
            "a budget that blocks every drain"
        )
        assert services[name]["spec"]["ports"][0]["port"] == port, name


def test_every_pod_runs_as_non_root_without_privileges(
    whole: list[dict[str, Any]], migrate: list[dict[str, Any]]
) -> None:
    for obj in [*whole, *migrate]:
        pod = _pod_spec(obj)
        if pod is None:
            continue
        assert pod["securityContext"]["runAsNonRoot"] is True, obj["metadata"]["name"]
        assert pod["securityContext"]["runAsUser"] != 0, obj["metadata"]["name"]
        assert pod.get("automountServiceAccountToken") is False, obj["metadata"]["name"]
        for container in _containers(obj):
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, container["name"]
            assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}, container["name"]


def test_signing_scales_horizontally_within_the_partitions_of_its_topics(whole: list[dict[str, Any]]) -> None:
    (hpa,) = (o for o in whole if o["kind"] == "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "signing"}
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    partitions = {t["name"]: t["partitions"] for t in topics.plan()["topics"]}
    # Every replica's consumer of the record and sheet requests holds a partition at the most.
    for topic in ("grades.records", "grades.sheets"):
        assert hpa["spec"]["maxReplicas"] <= partitions[topic], topic
    signing = _by(whole, "Deployment")["signing"]
    volumes = {v["name"]: v for v in signing["spec"]["template"]["spec"]["volumes"]}
    claim = _by(whole, "PersistentVolumeClaim")[volumes["documents"]["persistentVolumeClaim"]["claimName"]]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"], "replicas share one document store"


def test_migrations_run_as_a_job_before_the_services_roll_out(
    whole: list[dict[str, Any]], migrate: list[dict[str, Any]]
) -> None:
    (job,) = migrate
    assert job["kind"] == "Job"
    commands = {c["name"]: c["command"] for c in job["spec"]["template"]["spec"]["containers"]}
    assert commands == {name: ["python", "-m", f"hbs_{name}", "migrate"] for name in SERVICES}
    # The whole view never applies the Job beside the services it must precede.
    assert "hbs-migrate" not in _by(whole, "Job")
    for name, deployment in _by(whole, "Deployment").items():
        env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env[f"HBS_{name.upper()}_AUTO_MIGRATE"]["value"] == "false", name
    steps = [line for line in (K8S / "rollout.sh").read_text().splitlines() if line.startswith("kubectl")]
    order = [
        next(i for i, line in enumerate(steps) if needle in line)
        for needle in (
            'apply -k "$here/platform"',
            "job/kafka-setup",
            'apply -k "$here/migrate"',
            "job/hbs-migrate",
            'apply -k "$here/services"',
        )
    ]
    assert order == sorted(order)
    main = subprocess.run(["sh", "-n", str(K8S / "rollout.sh")], capture_output=True, text=True, timeout=30)
    assert main.returncode == 0, main.stderr


_SECRET_WORDS = re.compile(r"PASSWORD|_PIN$|_KEY$|SECRET|TOKEN")


def test_every_secret_comes_from_a_secret_and_none_is_in_the_repository(
    whole: list[dict[str, Any]], migrate: list[dict[str, Any]]
) -> None:
    assert not [o for o in [*whole, *migrate] if o["kind"] == "Secret"], "secrets are created by the operator"
    referenced: set[tuple[str, str]] = set()
    for obj in [*whole, *migrate]:
        for container in _containers(obj):
            for item in container.get("env", []):
                if _SECRET_WORDS.search(item["name"]) and not item["name"].endswith("_TOKEN_LABEL"):
                    assert "secretKeyRef" in item.get("valueFrom", {}), (container["name"], item["name"])
                if "secretKeyRef" in item.get("valueFrom", {}):
                    ref = item["valueFrom"]["secretKeyRef"]
                    referenced.add((ref["name"], ref["key"]))
    operations = (ROOT / "docs" / "operations.md").read_text()
    for name, key in sorted(referenced):
        assert f"secret generic {name}" in operations, f"docs/operations.md must tell how to create {name}"
        assert f"{key}=" in operations, f"docs/operations.md must tell how to create {name}/{key}"


def _placeholder(secret: str, key: str) -> str:
    if key == "jwt-private-key":
        return (
            Ed25519PrivateKey.generate()
            .private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            .decode()
        )
    if key == "totp-encryption-key":
        return base64.b64encode(os.urandom(32)).decode()
    return uuid.uuid4().hex


def _environment(container: dict[str, Any], site: dict[str, str]) -> dict[str, str]:
    """The container's environment as Kubernetes builds it: secrets as made-up values, the site's
    ConfigMap as written, $(NAME) expanded from the variables before it."""
    env: dict[str, str] = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = re.sub(
                r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), item["value"]
            )
        elif "secretKeyRef" in item["valueFrom"]:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = _placeholder(ref["name"], ref["key"])
        else:
            ref = item["valueFrom"]["configMapKeyRef"]
            assert ref["name"] == "hbs-site", ref
            env[item["name"]] = site[ref["key"]]
    return env


def test_each_service_container_names_only_real_settings_and_they_load_in_production(
    whole: list[dict[str, Any]], migrate: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _by(whole, "ConfigMap")["hbs-site"]["data"]
    containers = [
        c
        for o in [*whole, *migrate]
        for c in _containers(o)
        if any(e["name"] == "SERVICE" for e in c.get("env", []))
    ]
    checked = set()
    for container in containers:
        env = _environment(container, site)
        name = env.get("SERVICE") or container["name"]
        settings = SERVICES[name]
        prefix = f"HBS_{name.upper()}_"
        fields = {prefix + f.upper() for f in settings.model_fields}
        unknown = {k for k in env if k.startswith("HBS_") and k not in fields}
        assert not unknown, f"{container['name']}: not settings of {name}: {sorted(unknown)}"
        for key in list(os.environ):
            if key.startswith("HBS_"):
                monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        loaded = settings()
        assert loaded.environment == "production"
        assert loaded.database_url.startswith(f"postgresql+asyncpg://{name}:"), "each service its own role"
        assert loaded.database_url.endswith(f"@postgres:5432/{name}")
        if not container.get("command"):  # a service (the migrations Job reaches no broker)
            # Each logs in to Kafka as its own principal, the one its ACLs are for.
            login = loaded.kafka_login()
            assert login.describe() == f"SASL_PLAINTEXT SCRAM-SHA-512 as hbs-{name}"
            assert topics.plan()["principals"][name] == f"User:{login.username}"
        checked.add((name, "migrate" if container.get("command") else "service"))
    assert checked == {(n, kind) for n in SERVICES for kind in ("service", "migrate")}


# --- network policies: who may talk to whom -------------------------------------------------


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def _pods(objects: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {
        o["metadata"]["name"]: o["spec"]["template"]["metadata"]["labels"]
        for o in objects
        if o["kind"] in {"Deployment", "StatefulSet", "Job"}
    }


def _port_allowed(rule: dict[str, Any], port: int) -> bool:
    ports = rule.get("ports")
    return ports is None or any(p.get("port") == port for p in ports)


def reachable_from_outside(policies: list[dict[str, Any]], labels: dict[str, str], port: int) -> bool:
    """Whether a client outside the namespace (not the monitoring one) may open `port` on the pod."""
    for policy in policies:
        spec = policy["spec"]
        if "Ingress" not in spec["policyTypes"] or not _matches(spec["podSelector"], labels):
            continue
        for rule in spec.get("ingress", []):
            if not _port_allowed(rule, port):
                continue
            peers = rule.get("from")
            if peers is None:
                return True
            for peer in peers:
                if "ipBlock" in peer:
                    return True
                namespace = peer.get("namespaceSelector")
                if namespace is not None and namespace.get("matchLabels") != {
                    "kubernetes.io/metadata.name": "monitoring"
                }:
                    return True
    return False


def may_reach_address(
    policies: list[dict[str, Any]], labels: dict[str, str], address: str, port: int
) -> bool:
    for policy in policies:
        spec = policy["spec"]
        if "Egress" not in spec["policyTypes"] or not _matches(spec["podSelector"], labels):
            continue
        for rule in spec.get("egress", []):
            if not _port_allowed(rule, port):
                continue
            peers = rule.get("to")
            if peers is None:
                return True
            for peer in peers:
                block = peer.get("ipBlock")
                if block and ipaddress.ip_address(address) in ipaddress.ip_network(block["cidr"]):
                    return True
    return False


def _hsm(policies: list[dict[str, Any]]) -> tuple[str, int]:
    policy = next(p for p in policies if p["metadata"]["name"] == "hsm-egress")
    rule = next(r for r in policy["spec"]["egress"] if r.get("to"))
    return rule["to"][0]["ipBlock"]["cidr"].split("/")[0], rule["ports"][0]["port"]


def test_network_policies_deny_by_default_and_open_only_the_portal_to_the_outside(
    whole: list[dict[str, Any]], migrate: list[dict[str, Any]]
) -> None:
    policies = list(_by(whole, "NetworkPolicy").values())
    default = _by(whole, "NetworkPolicy")["default-deny"]["spec"]
    assert default == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    pods = _pods([*whole, *migrate])
    ports = {
        "portal": 8000,
        "identity": 8001,
        "grades": 8002,
        "signing": 8003,
        "postgres": 5432,
        "kafka": 9092,
    }
    outside = {name for name, port in ports.items() if reachable_from_outside(policies, pods[name], port)}
    assert outside == {"portal"}
    ingress = _by(whole, "Ingress")
    assert [
        i["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] for i in ingress.values()
    ] == ["portal"]


def test_only_signing_reaches_the_hsm(whole: list[dict[str, Any]], migrate: list[dict[str, Any]]) -> None:
    policies = list(_by(whole, "NetworkPolicy").values())
    address, port = _hsm(policies)
    pods = _pods([*whole, *migrate])
    assert {name for name, labels in pods.items() if may_reach_address(policies, labels, address, port)} == {
        "signing"
    }


# --- Kafka: three KRaft brokers, SCRAM, ACLs, the topic plan ------------------------------------


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def test_kafka_is_three_kraft_brokers_replicated_and_authenticated(whole: list[dict[str, Any]]) -> None:
    kafka = _by(whole, "StatefulSet")["kafka"]
    assert kafka["spec"]["replicas"] == 3
    config = _properties(_by(whole, "ConfigMap")["kafka-config"]["data"]["server.properties"])
    assert config["process.roles"] == "broker,controller"
    assert len(config["controller.quorum.voters"].split(",")) == 3
    assert config["default.replication.factor"] == "3"
    assert config["min.insync.replicas"] == "2"
    assert config["offsets.topic.replication.factor"] == "3"
    assert config["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert config["listener.security.protocol.map"].startswith("SASL_PLAINTEXT:SASL_PLAINTEXT")
    assert config["allow.everyone.if.no.acl.found"] == "false"
    assert config["auto.create.topics.enable"] == "false"
    assert config["unclean.leader.election.enable"] == "false"
    assert _by(whole, "PodDisruptionBudget")["kafka"]["spec"]["maxUnavailable"] == 1
    for topic in topics.plan()["topics"]:
        assert topic["replication_factor"] == 3, topic["name"]
        assert topic["configs"]["min.insync.replicas"] == "2", topic["name"]


def test_the_plan_files_are_generated_from_the_code() -> None:
    folder = K8S / "platform" / "kafka"
    assert (folder / "plan.json").read_text() == topics.render_plan(), (
        "python -m hbs_shared.messaging.topics plan"
    )
    assert (folder / "acls.sh").read_text() == topics.render_acls(), (
        "python -m hbs_shared.messaging.topics acls"
    )
    # What the set-up Job runs is that script, from the ConfigMap made of it.
    assert "sh /etc/hbs-kafka/acls.sh" in (folder / "setup-job.yaml").read_text()


def _consumers_of_the_running_code(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, str, str]]:
    from hbs_grades.app import create_app as grades_app
    from hbs_identity.app import create_app as identity_app
    from hbs_portal.app import create_app as portal_app
    from hbs_signing.app import create_app as signing_app

    found: set[tuple[str, str, str]] = set()
    for name, factory, settings_class in (
        ("identity", identity_app, IdentitySettings),
        ("grades", grades_app, GradesSettings),
        ("signing", signing_app, SigningSettings),
        ("portal", portal_app, PortalSettings),
    ):
        monkeypatch.setenv(f"HBS_{name.upper()}_DATA_DIR", str(tmp / name))
        app = factory(settings_class())  # type: ignore[arg-type]
        found |= {(name, c.name, c.topic) for c in app.state.runtime.consumers}
    return found


def test_the_plan_names_every_consumer_the_services_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned = {(service, group, t.name) for t in topics.TOPICS for service, group in t.consumers.items()}
    assert _consumers_of_the_running_code(tmp_path, monkeypatch) == planned


def test_acls_let_each_service_write_only_its_own_topics_and_read_only_what_it_consumes() -> None:
    rules = topics.acl_rules()
    rights = {(r["principal"], r["operation"], r["resource"], r["name"]) for r in rules}
    for rule in rules:
        assert rule["pattern"] == "literal", "no prefix or wildcard rights"
    writes = {(p, n) for p, op, kind, n in rights if op == "Write"}
    for principal, topic in writes:
        service = principal.removeprefix("User:hbs-")
        own = topic.split(".", 1)[0] == service
        dead_letters_of_what_it_reads = (
            topic.endswith(".dlq")
            and (
                principal,
                "Read",
                "topic",
                topic.removesuffix(".dlq"),
            )
            in rights
        )
        assert own or dead_letters_of_what_it_reads, (principal, topic)
    reads = {
        (p.removeprefix("User:hbs-"), n) for p, op, kind, n in rights if op == "Read" and kind == "topic"
    }
    assert ("identity", "identity.students") not in reads
    assert not {topic for service, topic in reads if service in {"identity", "portal"}}
    assert ("grades", "identity.students") in reads, "the one consumer of students' personal data"
    assert not {n for s, n in reads if n == "identity.students" and s != "grades"}


@pytest.mark.broker
def test_topics_are_created_by_plan_on_a_real_broker(kafka: Any) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    async def run() -> tuple[list[str], list[str], dict[str, int]]:
        first = await topics.create_topics(kafka.bootstrap, replication_factor=1)
        second = await topics.create_topics(kafka.bootstrap, replication_factor=1)
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
        await admin.start()
        try:
            described = await admin.describe_topics([t["name"] for t in topics.plan()["topics"]])
        finally:
            await admin.close()
        return first, second, {d["topic"]: len(d["partitions"]) for d in described if d["error_code"] == 0}

    first, second, partitions = asyncio.run(run())
    planned = {t["name"]: t["partitions"] for t in topics.plan()["topics"]}
    assert len(first) == len(planned)
    assert second == [], "a second run changes nothing"
    assert partitions == planned


# --- PostgreSQL: one role per service, its own database only -----------------------------------


def test_compose_and_kubernetes_initialise_postgresql_with_the_same_script() -> None:
    production = (ROOT / "deploy" / "production" / "postgres-init.sql").read_text()
    assert (K8S / "platform" / "postgres" / "init.sql").read_text() == production


@pytest.fixture
def throwaway_roles(databases: Any) -> Iterator[str]:
    suffix = f"t{uuid.uuid4().hex[:8]}"
    yield suffix
    names = [f"{service}_{suffix}" for service in SERVICES]
    # The roles go now; their databases, handed to the superuser, go with the run's own (root
    # conftest.py) once it is over: each DROP DATABASE waits for a checkpoint, and these four held
    # this teardown 38-45 s in the PostgreSQL rerun while the other test processes wrote.
    found = subprocess.run(
        ["psql", *_psql_target(), "-At", "-c", "SELECT datname FROM pg_database"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    made = [name for name in names if name in found.stdout.split()]
    script = []
    for name in made:  # its role exists too (the init script makes the role first)
        script += [f'ALTER DATABASE "{name}" OWNER TO CURRENT_USER;', f'\\connect "{name}"']
        script += [f'DROP OWNED BY "{name}";', "\\connect postgres"]  # its table, its grants
    script += [f'DROP ROLE IF EXISTS "{name}";' for name in names]
    done = subprocess.run(
        ["psql", *_psql_target()], input="\n".join(script), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    for name in made:
        databases.drop_later(name)


def _psql_target() -> list[str]:
    url = os.environ.get("HBS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    server = url.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)[0]
    return ["-v", "ON_ERROR_STOP=1", "-X", "-q", "-d", f"{server}/postgres"]


@pytest.mark.db
def test_each_service_role_connects_to_its_own_database_only(throwaway_roles: str) -> None:
    if os.environ.get("HBS_TEST_DATABASE", "sqlite") != "postgresql" or not shutil.which("psql"):
        pytest.skip("PostgreSQL only (HBS_TEST_DATABASE=postgresql)")
    suffix = throwaway_roles
    script = (ROOT / "deploy" / "production" / "postgres-init.sql").read_text()
    # The same script under throwaway names: roles and databases are server-wide and shared here.
    renamed = re.sub(r"\b(identity|grades|signing|portal)\b(?!_password)", rf"\1_{suffix}", script)
    renamed = renamed.replace("REVOKE ALL ON DATABASE postgres FROM PUBLIC;", "")
    environment = {**os.environ, **{f"HBS_POSTGRES_{s.upper()}_PASSWORD": uuid.uuid4().hex for s in SERVICES}}
    done = subprocess.run(
        ["psql", *_psql_target()], input=renamed, capture_output=True, text=True, env=environment, timeout=120
    )
    assert done.returncode == 0, done.stderr
    host = _psql_target()[-1].split("@", 1)[1].rsplit("/", 1)[0]

    def as_role(role: str, database: str, sql: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                "psql",
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                f"postgresql://{role}@{host}/{database}",
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )

    for service in SERVICES:
        role = f"{service}_{suffix}"
        own = as_role(
            role, role, "CREATE TABLE t (id int); INSERT INTO t VALUES (1); SELECT count(*) FROM t;"
        )
        assert own.returncode == 0, own.stderr
        for other in SERVICES:
            if other != service:
                refused = as_role(role, f"{other}_{suffix}", "SELECT 1")
                assert refused.returncode != 0, (service, other)
                assert "permission denied" in refused.stderr, refused.stderr
