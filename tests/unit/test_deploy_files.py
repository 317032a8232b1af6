"""The deployment files (issue 18: ``deploy/``): a container image of one node, and a compose
file of PostgreSQL, three nodes and HAProxy. Without Docker here, their structure is checked
(the YAML, every node built from the image with the shared settings, the balancer's servers
and health check); with Docker's compose plugin, ``docker compose config`` checks it too."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NODES = ["node-1", "node-2", "node-3"]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    assert isinstance(document, dict)
    return document


def test_every_node_runs_the_image_on_the_shared_database_and_settings(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "shared", *NODES, "lb"}
    for name in NODES:
        node = services[name]
        assert node["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert node["env_file"] == "cluster.env"
        assert node["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert node["depends_on"]["shared"] == {"condition": "service_completed_successfully"}
        assert "shared:/shared" in node["volumes"]
    assert services["postgres"]["healthcheck"]["test"][1] == "pg_isready"
    assert set(compose["volumes"]) == {"database", "shared"}


def test_the_example_settings_name_what_every_node_must_share() -> None:
    example = dict(
        line.split("=", 1)
        for line in (DEPLOY / "cluster.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert example["CHARGELEDGER_DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in example["CHARGELEDGER_DATABASE_URL"]
    for shared, shortest in (
        ("JWT_SECRET", 32),
        ("STATION_SECRET_KEY", 32),
        ("SANDBOX_WEBHOOK_SECRET", 16),
    ):
        assert len(example[f"CHARGELEDGER_{shared}"]) >= shortest
    assert example["CHARGELEDGER_AUDIT_KEY_FILE"].startswith("/shared/")


def test_the_balancer_spreads_http_and_websockets_over_the_healthy_nodes(
    compose: dict[str, Any],
) -> None:
    balancer = compose["services"]["lb"]
    assert balancer["ports"] == ["8080:8080"]
    assert set(balancer["depends_on"]) == set(NODES)
    config = (DEPLOY / "haproxy.cfg").read_text()
    assert "option httpchk GET /healthz" in config
    assert "timeout tunnel 1h" in config  # websockets outlive the heartbeat interval
    for name in NODES:
        assert f"server {name} {name}:8000 check" in config


def test_the_image_serves_one_node_on_its_port() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "pip install --no-cache-dir -c requirements.lock ." in dockerfile
    assert 'CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]' in dockerfile
    assert "USER chargeledger" in dockerfile


@pytest.mark.skipif(shutil.which("docker") is None, reason="Docker is not installed")
def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    if plugin.returncode != 0:
        pytest.skip("Docker's compose plugin is not installed")
    (tmp_path / "cluster.env").write_text((DEPLOY / "cluster.env.example").read_text())
    shutil.copy(DEPLOY / "docker-compose.yml", tmp_path / "docker-compose.yml")
    shutil.copy(DEPLOY / "haproxy.cfg", tmp_path / "haproxy.cfg")
    checked = subprocess.run(
        ["docker", "compose", "-f", str(tmp_path / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
