"""The deployment files agree with the code they deploy.

No Docker engine or cluster runs here, so these tests check what can go wrong without
one: every file parses; every path the Dockerfile copies exists; every `drillbot ...`
command line in the Dockerfile, compose, the Kubernetes manifests and the systemd unit
is a real command with real options of the installed CLI; every environment variable
they or the code use is listed in .env.example and documented; the probes point at the
health endpoints; the settings files validate with drillbot's own config loader.
`kubectl` and `systemd-analyze` add checks when installed, and are not needed.
"""

from __future__ import annotations

import configparser
import fnmatch
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from bot.cli import main as cli
from bot.config import load_settings
from bot.ops.metrics import Metrics

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
DOCS = ROOT / "docs" / "operations.md"

REQUIRED_ENV = {
    "DRILLBOT_DATABASE_URL",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "DISCORD_TOKEN",
    "DRILLBOT_SLACK_API_URL",
    "DRILLBOT_DISCORD_API_URL",
    "DRILLBOT_DISCORD_GATEWAY_URL",
    "DRILLBOT_HTTP_PORT",
    "DRILLBOT_LOG_FORMAT",
}
OURS = re.compile(r"^(DRILLBOT|SLACK|DISCORD|POSTGRES)_[A-Z0-9_]+$")


# ---- helpers ------------------------------------------------------------------------


def resolve_cli(args: list[str]) -> list[str]:
    """Walk `drillbot ARGS` through the real click command tree and return the command
    path; fails on an unknown command or option, or a value outside an option's choices
    (values compose fills in from the environment are not judged)."""
    command: click.Command = cli
    path: list[str] = []
    tokens = list(args)
    while tokens:
        token = tokens.pop(0)
        if token.startswith("-"):
            name = token.split("=", 1)[0]
            options = [p for p in command.params if isinstance(p, click.Option)]
            match = next((p for p in options if name in p.opts + p.secondary_opts), None)
            assert match is not None, f"drillbot {' '.join(path)}: no option {name} in {args}"
            if not match.is_flag:
                if "=" in token:
                    value = token.split("=", 1)[1]
                else:
                    assert tokens, f"{name} needs a value in {args}"
                    value = tokens.pop(0)
                if isinstance(match.type, click.Choice) and "${" not in value:
                    assert value in match.type.choices, f"{name} {value}: not one of its choices"
            continue
        if isinstance(command, click.Group):
            assert token in command.commands, f"drillbot {' '.join(path)}: no command {token!r}"
            command = command.commands[token]
            path.append(token)
            continue
        arguments = [p for p in command.params if isinstance(p, click.Argument)]
        assert arguments, f"drillbot {' '.join(path)} takes no argument {token!r}"
    assert not isinstance(command, click.Group), f"{args} stops at a command group"
    return path


def env_example() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined."""
    instructions, current = [], ""
    for raw in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, rest = current.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        current = ""
    return instructions


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        candidates = [pattern, pattern.removeprefix("**/")]
        if any(fnmatch.fnmatch(path, p) or path.startswith(p + "/") for p in candidates):
            result = not negate
    return result


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def manifests() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    documents = []
    for resource in kustomization["resources"]:
        path = K8S / resource
        assert path.is_file(), f"kustomization.yaml lists {resource}, which does not exist"
        documents += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return documents


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in manifests() if doc["kind"] == kind]


def only(kind: str) -> dict[str, Any]:
    (document,) = of_kind(kind)
    return document


def pod_spec(document: dict[str, Any]) -> dict[str, Any]:
    return document["spec"]["template"]["spec"]


def systemd_unit() -> configparser.RawConfigParser:
    unit = configparser.RawConfigParser(strict=False, interpolation=None, delimiters=("=",))
    unit.optionxform = str  # keys are case-sensitive in systemd
    unit.read(DEPLOY / "systemd" / "drillbot.service", encoding="utf-8")
    return unit


def systemd_values(key: str) -> list[str]:
    """Every value of a key that may repeat (configparser keeps only the last)."""
    text = (DEPLOY / "systemd" / "drillbot.service").read_text(encoding="utf-8")
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(f"{key}=")]


def drillbot_args(command_line: str) -> list[str]:
    words = shlex.split(command_line)
    assert Path(words[0]).name == "drillbot", command_line
    return words[1:]


# ---- every file parses ----------------------------------------------------------------


def test_every_yaml_file_under_deploy_parses() -> None:
    files = sorted(DEPLOY.rglob("*.yaml")) + sorted(DEPLOY.rglob("*.yml"))
    assert {f.relative_to(DEPLOY).as_posix() for f in files} >= {
        "compose.yaml",
        "kubernetes/kustomization.yaml",
        "kubernetes/deployment.yaml",
    }
    for path in files:
        documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
        assert documents, f"{path} is empty"


# ---- Dockerfile -----------------------------------------------------------------------


def test_dockerfile_is_multi_stage_slim_and_non_root() -> None:
    instructions = dockerfile()
    args = dict(
        rest.split("=", 1) for keyword, rest in instructions if keyword == "ARG" and "=" in rest
    )
    stages = [rest for keyword, rest in instructions if keyword == "FROM"]
    assert len(stages) >= 2
    for stage in stages:
        image = stage.split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        assert image == "python:3.11-slim"
    runtime = instructions[max(i for i, (k, _) in enumerate(instructions) if k == "FROM") :]
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(k == "COPY" and rest.startswith("--from=build") for k, rest in runtime)


def test_dockerfile_copies_paths_that_exist_and_are_not_dockerignored() -> None:
    patterns = dockerignore()
    sources = []
    for keyword, rest in dockerfile():
        if keyword in ("COPY", "ADD") and not rest.startswith("--from"):
            *paths, _destination = rest.split()
            sources += paths
    assert {"pyproject.toml", "README.md", "bot", "bank", "adapters"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
        assert not ignored(source, patterns), f".dockerignore excludes {source}"
    # The bank is baked in: it is package data of the installed distribution.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "questions/*.yaml" in pyproject["tool"]["setuptools"]["package-data"]["bank"]
    assert pyproject["project"]["scripts"]["drillbot"] == "bot.cli:main"
    assert any(dep.startswith("prometheus-client") for dep in pyproject["project"]["dependencies"])


def test_dockerignore_keeps_local_state_and_secrets_out() -> None:
    patterns = dockerignore()
    for path in (".git", ".venv", "drillbot.db", "deploy/.env", ".env", "bot/__pycache__"):
        assert ignored(path, patterns), f"{path} would be sent to the Docker build"


def test_dockerfile_runs_real_drillbot_commands_and_checks_health() -> None:
    instructions = dockerfile()
    entrypoint = yaml.safe_load(next(r for k, r in instructions if k == "ENTRYPOINT"))
    command = yaml.safe_load(next(r for k, r in instructions if k == "CMD"))
    assert entrypoint == ["drillbot"]
    assert resolve_cli(command) == ["run"]
    for keyword, rest in instructions:
        if keyword == "RUN":
            for part in rest.split("&&"):
                if Path(part.split()[0]).name == "drillbot":
                    resolve_cli(drillbot_args(part))
    env = " ".join(rest for keyword, rest in instructions if keyword == "ENV")
    port = re.search(r"DRILLBOT_HTTP_PORT=(\d+)", env).group(1)
    exposed = " ".join(rest for keyword, rest in instructions if keyword == "EXPOSE").split()
    assert port in exposed
    healthcheck = next(rest for keyword, rest in instructions if keyword == "HEALTHCHECK")
    assert "/healthz" in healthcheck and "DRILLBOT_HTTP_PORT" in healthcheck
    assert "DRILLBOT_DATABASE_URL=sqlite:////data/" in env
    for secret in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_TOKEN"):
        assert secret not in env, "tokens are passed at run time, never baked in"


# ---- compose and .env.example ---------------------------------------------------------


def test_compose_runs_drillbot_after_a_healthy_database_and_a_migration() -> None:
    services = compose()["services"]
    db, migrate, drillbot = services["db"], services["migrate"], services["drillbot"]

    assert db["image"] == "postgres:16"
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose()["volumes"]

    assert resolve_cli(migrate["command"]) == ["db", "upgrade"]
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert resolve_cli(drillbot["command"]) == ["run"]
    assert drillbot["depends_on"]["db"]["condition"] == "service_healthy"
    assert drillbot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "/healthz" in " ".join(drillbot["healthcheck"]["test"])

    for service in (migrate, drillbot):
        assert service["build"]["context"] == ".."
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
        url = service["environment"]["DRILLBOT_DATABASE_URL"]
        assert "postgresql+psycopg://drillbot:${POSTGRES_PASSWORD" in url and "@db:5432/" in url
        config = next(
            v for v in service["volumes"] if v.endswith(":/etc/drillbot/drillbot.yaml:ro")
        )
        default = re.search(r"\$\{DRILLBOT_CONFIG_FILE:-([^}]+)\}", config).group(1)
        assert (DEPLOY / default).is_file()
        assert "--config" in service["command"]


def test_every_environment_variable_is_in_env_example_and_documented() -> None:
    listed = env_example()
    assert set(listed) >= REQUIRED_ENV

    compose_text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", compose_text))
    for service in compose()["services"].values():
        if "build" in service:  # drillbot's; the postgres image's own variables are fixed
            used |= set(service.get("environment", {}))
    for document in manifests():
        if document["kind"] == "Secret":
            used |= set(document.get("stringData", {}))
        if document["kind"] in ("Deployment", "Job"):
            for container in pod_spec(document)["containers"]:
                used |= {item["name"] for item in container.get("env", [])}
    used |= {value.split("=", 1)[0] for value in systemd_values("Environment")}
    for keyword, rest in dockerfile():
        if keyword == "ENV":
            used |= set(re.findall(r"\b([A-Z][A-Z0-9_]*)=", rest))
    code = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("bot", "adapters")
        for path in (ROOT / folder).rglob("*.py")
    )
    used |= set(re.findall(r"[\"']((?:DRILLBOT|SLACK|DISCORD)_[A-Z0-9_]+)[\"']", code))

    ours = {name for name in used if OURS.match(name)}
    assert ours | set(listed) >= REQUIRED_ENV
    assert not ours - set(listed), f"not in deploy/.env.example: {sorted(ours - set(listed))}"
    docs = DOCS.read_text(encoding="utf-8")
    undocumented = [name for name in listed if f"`{name}`" not in docs]
    assert not undocumented, f"not in docs/operations.md: {undocumented}"
    secrets = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_TOKEN")
    assert all(listed[name] == "" for name in secrets), ".env.example holds no token"


def test_the_settings_files_the_deployments_mount_are_valid(tmp_path: Path) -> None:
    compose_default = DEPLOY / "../drillbot.example.yaml"
    load_settings(compose_default, env={})
    configmap = only("ConfigMap")
    config = tmp_path / "drillbot.yaml"
    config.write_text(configmap["data"]["drillbot.yaml"], encoding="utf-8")
    settings = load_settings(config, env={})
    assert settings.slack.mode == "http"  # any replica may answer, behind the Service
    ports = {
        p["name"]: p["containerPort"]
        for p in pod_spec(only("Deployment"))["containers"][0]["ports"]
    }
    assert ports["slack"] == settings.slack.http_port


# ---- Kubernetes -----------------------------------------------------------------------


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk
    kinds = {document["kind"] for document in manifests()}
    assert {"Deployment", "Service", "ConfigMap", "Secret", "Job"} <= kinds


def test_deployment_runs_replicas_on_postgresql_with_probes_and_resources() -> None:
    deployment = only("Deployment")
    assert deployment["spec"]["replicas"] >= 2
    spec = pod_spec(deployment)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["terminationGracePeriodSeconds"] >= 60
    (container,) = spec["containers"]
    assert resolve_cli(container["args"]) == ["run"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert int(env["DRILLBOT_HTTP_PORT"]) == ports["health"]
    probes = {
        name: container[name]["httpGet"]
        for name in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert probes["readinessProbe"]["path"] == "/readyz"
    assert probes["livenessProbe"]["path"] == probes["startupProbe"]["path"] == "/healthz"
    assert {probe["port"] for probe in probes.values()} == {"health"}
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert container["securityContext"]["allowPrivilegeEscalation"] is False

    secret, configmap = only("Secret"), only("ConfigMap")
    assert container["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]
    assert secret["stringData"]["DRILLBOT_DATABASE_URL"].startswith("postgresql+psycopg://")
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    config_volume = volumes[mounts["/etc/drillbot"]]
    assert config_volume["configMap"]["name"] == configmap["metadata"]["name"]
    assert "drillbot.yaml" in configmap["data"]
    assert container["args"][:2] == ["--config", "/etc/drillbot/drillbot.yaml"]

    service = only("Service")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(ports)


def test_a_migration_job_runs_drillbot_db_upgrade_with_the_same_image_and_secrets() -> None:
    job, deployment = only("Job"), only("Deployment")
    spec = pod_spec(job)
    (container,) = spec["containers"]
    (bot,) = pod_spec(deployment)["containers"]
    assert resolve_cli(container["args"]) == ["db", "upgrade"]
    assert container["image"] == bot["image"]
    assert container["envFrom"] == bot["envFrom"]
    assert spec["restartPolicy"] in ("OnFailure", "Never")
    assert spec["securityContext"]["runAsNonRoot"] is True


def test_kubernetes_readme_documents_every_value() -> None:
    readme = (K8S / "README.md").read_text(encoding="utf-8")
    secret = only("Secret")
    (container,) = pod_spec(only("Deployment"))["containers"]
    names = set(secret["stringData"]) | {item["name"] for item in container["env"]}
    for name in names | {"replicas", "terminationGracePeriodSeconds", "resources.requests"}:
        assert f"`{name}`" in readme, f"deploy/kubernetes/README.md does not describe {name}"
    for path in ("/healthz", "/readyz", "/metrics", "drillbot db upgrade"):
        assert path in readme


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_kustomize_renders_the_manifests() -> None:
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=120
    )
    assert rendered.returncode == 0, rendered.stderr
    documents = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    assert {d["kind"] for d in documents} >= {"Deployment", "Service", "ConfigMap", "Job"}
    assert all(
        d["metadata"].get("namespace") == "drillbot" for d in documents if d["kind"] != "Namespace"
    )


# ---- systemd --------------------------------------------------------------------------


def test_systemd_unit_runs_one_sqlite_process_hardened() -> None:
    unit = systemd_unit()
    service = unit["Service"]
    assert service["User"] not in ("root", "0")
    assert resolve_cli(drillbot_args(service["ExecStart"])) == ["run"]
    for pre in systemd_values("ExecStartPre"):
        assert resolve_cli(drillbot_args(pre)) == ["db", "upgrade"]
    env = dict(value.split("=", 1) for value in systemd_values("Environment"))
    assert env["DRILLBOT_DATABASE_URL"].startswith("sqlite:////var/lib/drillbot/")
    assert service["StateDirectory"] == "drillbot"
    hardening = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "RestrictSUIDSGID": "yes",
        "CapabilityBoundingSet": "",
    }
    for key, value in hardening.items():
        assert service.get(key) == value, f"{key}={value} missing"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed")
def test_systemd_analyze_finds_nothing_but_the_missing_install(tmp_path: Path) -> None:
    unit = tmp_path / "drillbot.service"
    shutil.copy(DEPLOY / "systemd" / "drillbot.service", unit)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=120
    )
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and "/opt/drillbot/bin/drillbot" not in line
    ]
    assert not problems


# ---- docs ---------------------------------------------------------------------------


def test_operations_doc_covers_deployments_coordination_backups_and_every_metric() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for heading in (
        "## Single machine: SQLite",
        "## Production: PostgreSQL",
        "## Scale-out: N replicas",
        "### Slack: HTTP mode behind a load balancer",
        "### Discord: shards split across replicas",
        "## Upgrades and migrations",
        "## Backups",
        "## Metrics and alerts",
    ):
        assert heading in docs
    for phrase in ("FOR UPDATE SKIP LOCKED", "lease", "Inbound event ids", "Outbox keys"):
        assert phrase in docs
    for command in ("drillbot db backup", "pg_dump", "drillbot db upgrade", "drillbot doctor"):
        assert command in docs
    exported = {
        family.name + ("_total" if family.type == "counter" else "")
        for family in Metrics().registry.collect()
    }
    assert len(exported) == 8
    for name in exported:
        assert f"`{name}`" in docs, f"docs/operations.md does not describe {name}"


def test_git_ignores_every_file_make_run_leaves_behind() -> None:
    """`make run` writes drillbot.db, its write-ahead log and its instance lock; none of
    them may show up as a change to commit."""
    root = Path(__file__).parents[1]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    names = ["drillbot.db", "drillbot.db-wal", "drillbot.db-shm", "drillbot.db.lock"]
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", *names],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.split() == names
