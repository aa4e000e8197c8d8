"""The shipped deployment files are valid: nginx accepts the site config, systemd the units, the env file
names only real settings, and the rolling restart refuses a replica that does not come back."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from toancanh.demo.cluster import DEPLOY, free_port, nginx_main_conf, render_nginx, self_signed
from toancanh.settings import Settings


@pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(), reason="no nginx")
def test_nginx_accepts_the_site_config(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    conf = (DEPLOY / "nginx" / "toancanh.conf").read_text()
    # the production file, as shipped, with only the paths nginx must be able to open changed
    site = tmp_path / "toancanh.conf"
    site.write_text(
        render_nginx(
            conf, upstreams=[8001, 8002], http_port=free_port(), https_port=free_port(), cert=cert, key=key
        )
    )
    (tmp_path / "nginx.conf").write_text(nginx_main_conf(tmp_path, site))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    r = subprocess.run(
        [
            nginx,
            "-t",
            "-p",
            str(tmp_path),
            "-e",
            str(tmp_path / "err.log"),
            "-c",
            str(tmp_path / "nginx.conf"),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    # what the streams need is there
    stream = conf.split("location = /api/v1/events/stream", 1)[1].split("}", 1)[0]
    assert "proxy_buffering off" in stream and "proxy_read_timeout 1h" in stream
    retry = re.findall(r"(?m)^\s*proxy_next_upstream ([^;]*);", conf)
    assert retry and all(
        "non_idempotent" not in r for r in retry
    )  # a POST that reached a replica is never sent again


def test_render_refuses_a_config_without_upstreams() -> None:
    with pytest.raises(ValueError, match="upstream"):
        render_nginx("server {}", upstreams=[1], http_port=1, https_port=2, cert=Path("c"), key=Path("k"))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_units_verify(tmp_path: Path) -> None:
    venv_bin = tmp_path / "opt" / "bin"
    venv_bin.mkdir(parents=True)
    fake = venv_bin / "toancanh"
    fake.write_text(f"#!{sys.executable}\n")
    fake.chmod(0o755)
    env = tmp_path / "toancanh.env"
    env.write_text((DEPLOY / "toancanh.env").read_text())
    units = []
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        text = unit.read_text().replace("/opt/toancanh/.venv/bin/toancanh", str(fake))
        text = text.replace("/etc/toancanh/toancanh.env", str(env))
        text = re.sub(r"(?m)^(User|Group)=.*\n", "", text)  # no such user on a test machine
        out = tmp_path / unit.name
        out.write_text(text)
        units.append(out)
    instances = [str(u).replace("@.service", "@8001.service") for u in units]
    for src, dst in zip(units, instances, strict=True):
        if src != Path(dst):
            shutil.copy(src, dst)
    r = subprocess.run(
        ["systemd-analyze", "verify", *[i for i in instances if "@8001" in i or "@" not in i]],
        capture_output=True,
        text=True,
    )
    problems = [
        line
        for line in r.stderr.splitlines()
        # a test machine is no booted systemd: what it says about that is not about the units
        if line.strip()
        and not re.search(r"not booted|Failed to connect|Offline|\.mount|\.target: |/etc/systemd", line)
    ]
    assert not problems, r.stderr


def test_env_file_names_only_real_settings() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    names = re.findall(r"(?m)^TOANCANH_([A-Z0-9_]+)=", (DEPLOY / "toancanh.env").read_text())
    assert names and set(names) <= fields, set(names) - fields


def test_rolling_restart_stops_at_a_replica_that_does_not_come_back(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there, and the restart does not start anything
    r = subprocess.run(
        ["bash", str(DEPLOY / "rolling-restart.sh"), str(port), "9"],
        env={
            "RESTART_CMD": "true",
            "READY_URL": "http://127.0.0.1:{}/readyz",
            "TIMEOUT_S": "2",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 1
    assert f"{port} did not come back ready" in r.stderr and "restarting 9" not in r.stdout
