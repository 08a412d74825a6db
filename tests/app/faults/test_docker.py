"""The Dockerfile builds and deploy/compose.yaml starts the whole stack (migrate, app with
two workers, PostgreSQL, Redis, Caddy), which answers /healthz over TLS.

It needs a Docker daemon and the compose plugin. Without them it SKIPS, in CI too: the
CI machines of this project have only the docker client (say "no Docker daemon")."""

import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from app.config import PROJECT_ROOT
from tests.app.faults.serving import free_port


def _need_docker() -> None:
    if shutil.which("docker") is None:
        pytest.skip("no Docker daemon: the docker command is not installed")
    info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                          capture_output=True, text=True, timeout=30, check=False)
    if info.returncode != 0:
        pytest.skip("no Docker daemon: `docker info` cannot reach one")
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True,
                            timeout=30, check=False)
    if plugin.returncode != 0:
        pytest.skip("no docker compose plugin next to the Docker daemon")


def _deploy_copy(tmp_path: Path, port: int, tag: str) -> Path:
    """deploy/ with a filled-in .env and an override: this tree as the build context, a
    test image tag, Caddy on one loopback port only."""
    deploy = tmp_path / "deploy"
    shutil.copytree(PROJECT_ROOT / "deploy", deploy)
    (deploy / ".env").write_text(
        "DIEMCAU_DOMAIN=localhost\n"
        f"DIEMCAU_SECRET_KEY={secrets.token_urlsafe(48)}\n"
        "DIEMCAU_ADMIN_USERNAME=admin\n"
        f"DIEMCAU_ADMIN_PASSWORD={secrets.token_urlsafe(18)}\n"
        f"POSTGRES_PASSWORD={secrets.token_hex(24)}\n"
        f"DIEMCAU_APP_DB_PASSWORD={secrets.token_hex(24)}\n"
        "DIEMCAU_WORKERS=2\n"
    )
    build = f"build: {{context: {PROJECT_ROOT}, dockerfile: Dockerfile}}"
    (deploy / "test.override.yaml").write_text(
        "services:\n"
        f"  migrate:\n    image: {tag}\n    {build}\n"
        f"  app:\n    image: {tag}\n    {build}\n"
        f"  caddy:\n    ports: !override\n      - \"127.0.0.1:{port}:443\"\n"
    )
    return deploy


def test_dockerfile_builds_and_compose_stack_serves(tmp_path: Path) -> None:
    _need_docker()
    port = free_port()
    project = f"diemcau-test-{os.getpid()}"
    tag = f"diemcau:{project}"
    deploy = _deploy_copy(tmp_path, port, tag)
    compose = ["docker", "compose", "-p", project, "-f", str(deploy / "compose.yaml"),
               "-f", str(deploy / "test.override.yaml")]
    try:
        up = subprocess.run([*compose, "up", "-d", "--build", "--wait"], capture_output=True,
                            text=True, timeout=1800, check=False)
        assert up.returncode == 0, up.stdout + up.stderr
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"https://localhost:{port}/healthz", verify=False, timeout=5)
                if r.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the stack did not answer /healthz"
            time.sleep(1)
        assert r.json() == {"status": "ok"}
    finally:
        subprocess.run([*compose, "down", "-v"], capture_output=True, timeout=300, check=False)
        subprocess.run(["docker", "image", "rm", tag], capture_output=True, timeout=120,
                       check=False)
