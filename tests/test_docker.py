"""docker/: what the Dockerfile copies, runs and refers to exists (no Docker engine here)."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest

from sidecar.cli import build_parser
from sidecar.config import manifest, specs

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"
COMPOSES = sorted(DOCKER.glob("compose.*.yml"))


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with comments dropped and continuation lines joined."""
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines()
                                           if not line.lstrip().startswith("#")))
    result = []
    for line in text.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def args_of(name: str) -> list[str]:
    return [rest for word, rest in instructions() if word == name]


def exec_form(rest: str) -> list[str]:
    return list(json.loads(rest)) if rest.startswith("[") else shlex.split(rest)


def ignored(path: str) -> bool:
    """Does docker/Dockerfile.dockerignore keep ``path`` out of the build context?"""
    rules = [line.strip() for line in (DOCKER / "Dockerfile.dockerignore").read_text()
             .splitlines() if line.strip() and not line.startswith("#")]
    excluded = False
    for rule in rules:
        negate = rule.startswith("!")
        pattern = rule.lstrip("!").rstrip("/").removeprefix("**/")
        parts = path.split("/")
        hit = any(fnmatch.fnmatch("/".join(parts[:i + 1]), pattern) for i in range(len(parts)))
        hit = hit or any(fnmatch.fnmatch(part, pattern) for part in parts)
        if hit:
            excluded = not negate
    return excluded


def test_base_image_user_volume_port_and_data_dir() -> None:
    assert args_of("FROM") == ["python:3.11-slim"]
    users = args_of("USER")
    assert users and users[-1] not in ("root", "0")
    order = [word for word, _ in instructions()]
    assert order.index("USER") > max(i for i, w in enumerate(order) if w == "RUN")
    assert exec_form(args_of("VOLUME")[0]) == ["/config"]
    assert any("SCANARR_DATA_DIR=/config" in env for env in args_of("ENV"))
    default_port = build_parser().parse_args(["serve"]).port
    assert args_of("EXPOSE") == [str(default_port)]


def test_every_copied_path_exists_and_is_in_the_build_context() -> None:
    copies = args_of("COPY")
    assert copies
    for rest in copies:
        *sources, _target = exec_form(rest)
        for source in sources:
            assert not source.startswith("--"), "no --from/--chown tricks expected"
            assert (REPO / source).exists(), source
            assert not ignored(source), f"{source} is excluded by the dockerignore"


def test_context_leaves_out_what_the_image_does_not_need() -> None:
    for path in (".venv/bin/python", ".git/HEAD", "tests/test_docker.py",
                 "sidecar/__pycache__/x.pyc", "bench/bench_scan.py"):
        assert ignored(path), path
    for path in ("sidecar/web/templates/base.html", "plugin/plex.py", "manifest.json"):
        assert not ignored(path), path


def test_symlinked_manifest_is_copied_with_its_target() -> None:
    link = REPO / "sidecar" / "manifest.json"
    assert link.is_symlink()
    copied = {s for rest in args_of("COPY") for s in exec_form(rest)[:-1]}
    assert "manifest.json" in copied and "sidecar" in copied


def test_package_data_covers_every_web_file() -> None:
    """``pip install .`` in the image only ships files the package-data globs name."""
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["sidecar"]
    for folder in ("templates", "static"):
        for path in (REPO / "sidecar" / "web" / folder).iterdir():
            relative = path.relative_to(REPO / "sidecar").as_posix()
            assert any(fnmatch.fnmatch(relative, g) for g in globs), relative
    assert any(fnmatch.fnmatch("manifest.json", g) for g in globs)


def test_run_installs_the_package_and_creates_the_user() -> None:
    run = " ".join(args_of("RUN"))
    assert "pip install ." in run
    assert (REPO / "pyproject.toml").exists()
    assert "useradd" in run and "chown" in run and "/config" in run
    assert "curl" not in run and "apt-get" not in run  # slim stays slim


def test_cmd_runs_the_console_script() -> None:
    cmd = exec_form(args_of("CMD")[0])
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert cmd[0] in scripts and cmd[1] == "serve"
    parsed = build_parser().parse_args(cmd[1:])
    assert parsed.host == "0.0.0.0" and str(parsed.port) == args_of("EXPOSE")[0]


def test_healthcheck_asks_healthz_with_python() -> None:
    check = args_of("HEALTHCHECK")[0]
    assert "curl" not in check and "wget" not in check
    command = exec_form(check.split("CMD", 1)[1].strip())
    assert command[:2] == ["python", "-c"]
    compile(command[2], "<healthcheck>", "exec")
    assert manifest()["routes"]["health"] in command[2]
    assert f":{args_of('EXPOSE')[0]}/" in command[2]


@pytest.mark.parametrize("compose", COMPOSES, ids=lambda p: p.name)
def test_compose_files(compose: Path) -> None:
    text = compose.read_text(encoding="utf-8")
    assert re.search(r"^\s+context: \.\.$", text, re.MULTILINE)
    assert re.search(r"^\s+dockerfile: docker/Dockerfile$", text, re.MULTILINE)
    assert (DOCKER.parent / "docker" / "Dockerfile").exists()
    known = {f"SCANARR_{item['key'].upper()}" for item in specs()}
    for name in re.findall(r"^\s*#?\s*(SCANARR_[A-Z_]+):", text, re.MULTILINE):
        assert name in known, f"{compose.name}: {name} is not a setting"
    assert "scanarr-config:/config" in text and '"8765:8765"' in text
    assert "PATH-MAPPING PITFALL" in text
    host = compose.name.split(".")[1]
    assert f"SCANARR_HOST: {host}" in text
    for secret in ("SCANARR_TMDB_API_KEY", "SCANARR_HOST_TOKEN"):  # never pinned empty
        assert not re.search(rf"^\s+{secret}:", text, re.MULTILINE)


def test_plex_example_maps_paths_and_jellyfin_example_shares_them() -> None:
    plex = (DOCKER / "compose.plex.yml").read_text()
    assert "/srv/media:/data" in plex and "/srv/media:/media" in plex
    assert "SCANARR_PATH_MAP: /data=/media" in plex
    jellyfin = (DOCKER / "compose.jellyfin.yml").read_text()
    assert jellyfin.count("/srv/media:/media") == 2
    assert re.search(r"^\s+SCANARR_PATH_MAP:", jellyfin, re.MULTILINE) is None


def test_docker_readme_explains_the_pitfall() -> None:
    text = (DOCKER / "README.md").read_text(encoding="utf-8")
    assert "## The path-mapping pitfall" in text
    for word in ("SCANARR_PATH_MAP", "Test folder", "uid 1000", "/config", "healthz"):
        assert word in text
