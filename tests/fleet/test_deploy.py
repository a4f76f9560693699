"""The deployment files: the Kubernetes manifests validate against the Kubernetes schemas
(kubernetes-validate ships them: no network), call the command line with options it has, and
wire the shard, the Secret, the ConfigMap and the state volume together; the Dockerfile
installs from the lock with hashes and runs as a non-root user."""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import typer
from kubernetes_validate import utils as k8s

from orchestrator.cli.app import app
from orchestrator.planning.shard import Shard

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
# The oldest Kubernetes release still in common use with Indexed Jobs' per-index backoff, and the newest.
VERSIONS = ["1.29.0", k8s.latest_version()]


def resources() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, r) for path in MANIFESTS for r in k8s.resources_from_file(str(path))]


def by_kind(kind: str) -> dict[str, Any]:
    found = [r for _, r in resources() if r["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}"
    return found[0]


def pod_spec(resource: dict[str, Any]) -> dict[str, Any]:
    spec = resource["spec"]
    if resource["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def workloads() -> list[dict[str, Any]]:
    return [r for _, r in resources() if r["kind"] in ("CronJob", "Deployment", "Job")]


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_validates_against_the_kubernetes_schemas(version: str) -> None:
    found = resources()
    assert {r["kind"] for _, r in found} >= {"CronJob", "Deployment", "Job", "ConfigMap", "PersistentVolumeClaim"}
    for name, resource in found:
        # strict: an unknown or misspelt field (`concurencyPolicy`) is an error, not ignored
        assert kubernetes_validate.validate(resource, version, strict=True), name


def test_a_misspelt_field_would_be_caught() -> None:
    cron = dict(by_kind("CronJob"))
    cron["spec"] = {**cron["spec"], "concurencyPolicy": "Forbid"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(cron, VERSIONS[-1], strict=True)


def test_the_containers_call_commands_and_options_the_cli_has() -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    for workload in workloads():
        container = pod_spec(workload)["containers"][0]
        args = container["args"]
        command = commands.get(args[0])
        assert command is not None, f"{workload['kind']}: no command {args[0]!r}"
        known = {opt for param in command.params for opt in getattr(param, "opts", [])}
        used = {a for a in args if a.startswith("--")}
        assert used <= known, f"{workload['kind']}: {sorted(used - known)} are not options of {args[0]}"
        assert container["image"].startswith("sharingtools-orchestrator:")


def test_cronjob_runs_one_cycle_and_never_overlaps() -> None:
    cron = by_kind("CronJob")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    args = pod_spec(cron)["containers"][0]["args"]
    assert args[0] == "reconcile" and "--once" in args and "--every" not in args


def test_deployment_loops_with_metrics_and_health_probes() -> None:
    deployment = by_kind("Deployment")
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"
    container = pod_spec(deployment)["containers"][0]
    args = container["args"]
    assert args[0] == "reconcile" and "--once" not in args and "--every" in args
    port = int(option(args, "--metrics-port"))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/healthz" and ports.get(get["port"], get["port"]) == port
    service = by_kind("Service")
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_indexed_job_gives_each_completion_index_its_shard_and_state_db() -> None:
    job = by_kind("Job")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    n = spec["completions"]
    assert spec["parallelism"] == n
    container = pod_spec(job)["containers"][0]
    args = container["args"]
    env = {e["name"]: e for e in container["env"]}
    index_path = env["JOB_COMPLETION_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"]
    assert "batch.kubernetes.io/job-completion-index" in index_path
    shards, dbs = [], set()
    for index in range(n):  # what Kubernetes makes of $(JOB_COMPLETION_INDEX) in each pod
        expanded = [a.replace("$(JOB_COMPLETION_INDEX)", str(index)) for a in args]
        shards.append(Shard.parse(option(expanded, "--shard")))
        dbs.add(option(expanded, "--state-db"))
    assert shards == [Shard(k, n) for k in range(n)]  # every shard once: the whole fleet
    assert len(dbs) == n  # a state database (and so a run lock) per shard


def test_key_from_a_secret_playbooks_from_a_configmap_state_on_a_volume() -> None:
    for workload in workloads():
        pod = pod_spec(workload)
        container = pod["containers"][0]
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert "SHARINGTOOLS_API_KEY" not in env  # never a literal key
        key_file = Path(env["SHARINGTOOLS_API_KEY_FILE"])
        assert "secret" in mounts[str(key_file.parent)]
        playbooks = container["args"][1]
        assert "configMap" in mounts[playbooks]
        state_db = Path(option(container["args"], "--state-db"))
        assert "persistentVolumeClaim" in mounts[str(state_db.parent)]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True


# -- the Dockerfile ------------------------------------------------------------------------
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: comments dropped, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            instruction, _, rest = line.strip().partition(" ")
            out.append((instruction.upper(), " ".join(rest.split())))
    return out


def test_the_dockerfile_installs_the_lock_with_hashes_then_the_package_without_deps() -> None:
    steps = dockerfile()
    froms = [args for ins, args in steps if ins == "FROM"]
    assert froms and all(f.split()[0] == "python:3.11-slim" for f in froms)
    runs = [args for ins, args in steps if ins == "RUN"]
    lock = next(i for i, r in enumerate(runs) if "requirements/main.lock" in r)
    assert "--require-hashes" in runs[lock] and re.search(r"pip install .*-r requirements/main\.lock", runs[lock])
    package = next(i for i, r in enumerate(runs) if re.search(r"pip install --no-deps \.(\s|$)", r))
    assert lock < package  # dependencies from the lock first; nothing unpinned comes with the package
    assert not any(re.search(r"pip install(?!.*(--require-hashes|--no-deps))", r) for r in runs)


def test_the_image_runs_orchestrator_as_a_non_root_user() -> None:
    steps = dockerfile()
    final = steps[max(i for i, (ins, _) in enumerate(steps) if ins == "FROM"):]
    users = [args for ins, args in final if ins == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert ("ENTRYPOINT", '["orchestrator"]') in final


def test_dockerignore_lets_in_exactly_what_the_dockerfile_copies() -> None:
    rules = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]

    def included(path: str) -> bool:
        keep = True
        for rule in rules:  # later rules win, as in Docker
            negated = rule.startswith("!")
            pattern = rule.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
                keep = negated
        return keep

    sources = [s for ins, args in dockerfile() if ins == "COPY" and "--from" not in args
               for s in shlex.split(args)[:-1]]  # every word but the destination
    for source in [*sources, "orchestrator/cli/app.py", "pyproject.toml", "README.md"]:
        assert included(source), source
    assert (ROOT / "requirements" / "main.lock").is_file()
    assert not included(".venv/bin/python") and not included("tests/conftest.py") and not included(".git/HEAD")


# -- the PostgreSQL variant (deploy/kubernetes/postgres/) -----------------------------------
PG_MANIFESTS = sorted((ROOT / "deploy" / "kubernetes" / "postgres").glob("*.yaml"))


def pg_resources() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, r) for path in PG_MANIFESTS for r in k8s.resources_from_file(str(path))]


def pg_workloads() -> list[dict[str, Any]]:
    return [r for _, r in pg_resources() if r["kind"] in ("CronJob", "Deployment", "Job")]


@pytest.mark.parametrize("version", VERSIONS)
def test_the_postgres_manifests_validate(version: str) -> None:
    found = pg_resources()
    assert {r["kind"] for _, r in found} >= {"CronJob", "Deployment", "Job", "StatefulSet", "Secret", "Service"}
    for name, resource in found:
        assert kubernetes_validate.validate(resource, version, strict=True), name


def test_the_postgres_workloads_take_the_state_url_and_password_from_a_secret() -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    secret = next(r for _, r in pg_resources() if r["kind"] == "Secret")
    url = secret["stringData"]["url"]
    assert url.startswith("postgresql://") and "@" in url and ":" not in url.split("@")[0][len("postgresql://"):]
    for workload in pg_workloads():
        pod = pod_spec(workload)
        container = pod["containers"][0]
        args = container["args"]
        known = {opt for param in commands[args[0]].params for opt in getattr(param, "opts", [])}
        assert {a for a in args if a.startswith("--")} <= known
        assert "--state-db" not in args  # the store comes from the environment, from the Secret
        env = {e["name"]: e for e in container["env"]}
        for name, key in (("SHARINGTOOLS_STATE_DB", "url"), ("PGPASSWORD", "password")):
            ref = env[name]["valueFrom"]["secretKeyRef"]
            assert (ref["name"], ref["key"]) == (secret["metadata"]["name"], key)
        assert "persistentVolumeClaim" not in {k for v in pod["volumes"] for k in v}  # no volume for the state
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_postgres_shards_share_one_store_and_one_round() -> None:
    job = next(r for r in pg_workloads() if r["kind"] == "Job")
    n = job["spec"]["completions"]
    container = pod_spec(job)["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    shards = [Shard.parse(option([a.replace("$(JOB_COMPLETION_INDEX)", str(i)) for a in container["args"]],
                                 "--shard")) for i in range(n)]
    assert shards == [Shard(k, n) for k in range(n)]
    assert "job-name" in env["SHARINGTOOLS_FLEET_RUN"]["valueFrom"]["fieldRef"]["fieldPath"]  # one round per Job
    statefulset = next(r for _, r in pg_resources() if r["kind"] == "StatefulSet")
    password = {e["name"]: e for e in statefulset["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert password["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "orchestrator-state"
