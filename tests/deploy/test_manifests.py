"""deploy/ is checked, not just written: the Kubernetes manifests validate against the
Kubernetes OpenAPI schemas bundled in ``kubernetes-validate`` (pinned in the dev extras;
no network), every Secret, ConfigMap and key they reference exists, the configs they
carry load with the real config loaders, and the systemd units have what a service
needs (and pass ``systemd-analyze verify`` where it exists)."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from authority.config import AuthorityConfig
from nearmiss.identity import Role
from nearmiss.pki import CertificateAuthority, write_party
from node.config import NodeConfig
from tests.conftest import REPO

DEPLOY = REPO / "deploy"
K8S_VERSION = "1.31.0"  # the oldest Kubernetes we support; schemas ship in the package


def documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found.append((path.name, document))
    return found


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [d for _, d in documents() if d["kind"] == kind]


def named(kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in by_kind(kind) if d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


@pytest.mark.parametrize("source,document", documents(), ids=lambda v: str(v)[:40])
def test_every_manifest_validates_strictly(source: str, document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, K8S_VERSION, strict=True)


def test_the_validator_rejects_a_misspelt_field() -> None:
    deployment = copy.deepcopy(named("Deployment", "nearmiss-authority"))
    deployment["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_the_required_objects_exist() -> None:
    authority = named("Deployment", "nearmiss-authority")
    assert authority["spec"]["replicas"] >= 2  # replicas share one PostgreSQL (ADR 0007)
    service = named("Service", "nearmiss-authority")
    assert [p["port"] for p in service["spec"]["ports"]] == [50051]
    secret = named("Secret", "nearmiss-authority")
    keys = set(secret["stringData"])
    assert {"PGHOST", "PGDATABASE", "PGUSER", "PGPASSWORD"} <= keys
    assert {"ca.pem", "tls.pem", "tls.key", "signing.key"} <= keys
    node = named("Deployment", "nearmiss-node")
    assert node["spec"]["replicas"] == 1 and node["spec"]["strategy"]["type"] == "Recreate"


def _pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("name", ["nearmiss-authority", "nearmiss-node"])
def test_references_point_at_existing_secrets_configmaps_and_keys(name: str) -> None:
    deployment = named("Deployment", name)
    namespace = deployment["metadata"]["namespace"]
    pod = _pod_spec(deployment)
    secrets = {
        s["metadata"]["name"]: s for s in by_kind("Secret")
        if s["metadata"]["namespace"] == namespace
    }
    maps = {
        c["metadata"]["name"]: c for c in by_kind("ConfigMap")
        if c["metadata"]["namespace"] == namespace
    }
    for container in pod["containers"]:
        for variable in container.get("env", []):
            ref = variable.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["key"] in secrets[ref["name"]]["stringData"], ref
        mounted = {m["name"] for m in container["volumeMounts"]}
        assert mounted == {v["name"] for v in pod["volumes"]}
    for volume in pod["volumes"]:
        if "secret" in volume:
            data = secrets[volume["secret"]["secretName"]]["stringData"]
            for item in volume["secret"].get("items", []):
                assert item["key"] in data, item
        if "configMap" in volume:
            assert volume["configMap"]["name"] in maps


def _materialize(text: str, root: Path, *, authority: bool) -> Path:
    """Write a config whose absolute /etc, /var and /run paths point into ``root``, with
    real key and certificate files where it names them."""
    ca = CertificateAuthority.create("deploy-test")
    party_dir = root / "party"
    if authority:
        write_party(ca, party_dir, "eu-ai-office", Role.AUTHORITY, signing=True)
    else:
        write_party(ca, party_dir, "lab-aurora", Role.LAB, signing=True)
    ca.write(root / "ca")
    rewritten = re.sub(r'"/(etc|var|run)/', lambda m: f'"{root}/{m.group(1)}/', text)
    for match in re.finditer(rf'"({re.escape(str(root))}/[^"]+)"', rewritten):
        path = Path(match.group(1))
        if path.suffix in (".pem", ".key", ".pub", ".txt", ".yaml") and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            name = path.name
            if name == "ca.pem":
                shutil.copy(root / "ca" / "ca.pem", path)
            elif name in ("tls.pem", "tls.key", "signing.key", "signing.pub"):
                shutil.copy(party_dir / name, path)
            elif name.endswith(".pub"):
                shutil.copy(party_dir / "signing.pub", path)
            elif name.endswith(".yaml"):
                path.write_text("name: lab-terms\nterms: []\n")
            else:
                path.write_text("")
    target = root / ("authority.toml" if authority else "node.toml")
    target.write_text(rewritten)
    return target


def _configmap_file(name: str, key: str) -> str:
    return str(named("ConfigMap", name)["data"][key])


def test_production_authority_configs_load(tmp_path: Path) -> None:
    for n, text in enumerate([
        (DEPLOY / "config" / "authority.production.toml").read_text(),
        _configmap_file("nearmiss-authority-config", "authority.toml"),
    ]):
        config = AuthorityConfig.load(_materialize(text, tmp_path / str(n), authority=True))
        assert config.database_url == "postgresql+psycopg://"
        assert config.listen == "0.0.0.0:50051"
        assert any(p.role is Role.LAB for p in config.parties.values())


def test_production_node_configs_load(tmp_path: Path) -> None:
    for n, text in enumerate([
        (DEPLOY / "config" / "node.production.toml").read_text(),
        _configmap_file("nearmiss-node-config", "node.toml"),
    ]):
        text = text.replace('packs = ["/etc/nearmiss/redaction/lab-terms.yaml"]', "packs = []")
        config = NodeConfig.load(_materialize(text, tmp_path / str(n), authority=False))
        assert config.lab_id == "lab-aurora"
        assert config.local_api_listen.startswith("unix:")


# -- systemd -----------------------------------------------------------------------------

UNITS = {
    "nearmiss-authority.service": "nearmiss authority serve --config /etc/nearmiss/authority.toml",
    "nearmiss-node.service": "python -m node serve --config /etc/nearmiss/node.toml",
}


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}: {line!r} is outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: {line!r} is not key=value"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.mark.parametrize("unit", sorted(UNITS))
def test_systemd_units_have_what_a_service_needs(unit: str) -> None:
    sections = parse_unit(DEPLOY / "systemd" / unit)
    service = sections["Service"]
    assert sections["Unit"]["Description"]
    assert sections["Install"]["WantedBy"] == ["multi-user.target"]
    (exec_start,) = service["ExecStart"]
    assert exec_start.startswith("/") and exec_start.endswith(UNITS[unit])
    assert service["User"] == ["nearmiss"]
    assert service["KillSignal"] == ["SIGTERM"]
    assert service["Restart"][0] in ("on-failure", "always")
    assert service["NoNewPrivileges"] == ["yes"]
    assert service["UMask"] == ["0077"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
@pytest.mark.parametrize("unit", sorted(UNITS))
def test_systemd_analyze_verify_accepts_the_units(unit: str, tmp_path: Path) -> None:
    # The install paths do not exist on a test machine: point them at /bin/true.
    text = (DEPLOY / "systemd" / unit).read_text()
    text = re.sub(r"/opt/nearmiss/venv/bin/\S+", shutil.which("true") or "/bin/true", text)
    text = text.replace("EnvironmentFile=/", "EnvironmentFile=-/")
    copy_path = tmp_path / unit
    copy_path.write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy_path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Unknown key" not in result.stderr and "Unknown section" not in result.stderr
