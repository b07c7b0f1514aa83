"""Running the worker image as AWS Batch runs it, for tests/image and the e2e test: `docker run` + fakes.

`BatchContainer` turns a job's container properties (the job definition's, as registered from the
synthesized template, plus the job's overrides) into a `docker run` command line: the command, the
environment, vCPUs and memory (`--cpus`, `--memory` with no swap), the read-only root and the job
definition's Docker volumes. What the "instance" adds on AWS is added here the same way: credentials from
the ECS container-credentials endpoint (`CredentialsEndpoint`, a fake on loopback reached through
`AWS_CONTAINER_CREDENTIALS_FULL_URI`; Batch on EC2 sets `_RELATIVE_URI` for 169.254.170.2), the region,
and, test-only, the S3/API endpoint of moto. No access keys are ever put in a container's environment.
The container uses the host's network so that it reaches those servers on 127.0.0.1.
"""

from __future__ import annotations

import fnmatch
import json
import secrets
import shutil
import string
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DEFAULT_IMAGE = "scoresby-worker:latest"
"""What `make image` builds (the Makefile's IMAGE); SCORESBY_IMAGE names another."""
IMAGE_ENV = "SCORESBY_IMAGE"
REPO_ROOT = Path(__file__).resolve().parents[1]


def docker_client() -> str | None:
    """The docker CLI, or None when there is none."""
    return shutil.which("docker")


def docker_problem(image: str) -> str | None:
    """Why `image` cannot be run here (no client, no engine, no such image), or None when it can."""
    docker = docker_client()
    if docker is None:
        return "no docker client on PATH (make install-docker)"
    info = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=30, check=False)
    if info.returncode != 0:
        return "no Docker engine answers (make test-image starts one)"
    found = subprocess.run(
        [docker, "image", "inspect", image], capture_output=True, text=True, timeout=30, check=False
    )
    if found.returncode != 0:
        return f"image {image} not built (make image)"
    return None


def docker(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one docker CLI command and capture its output."""
    client = docker_client()
    assert client, "no docker client"
    return subprocess.run([client, *args], capture_output=True, text=True, timeout=timeout, check=check)


# ---------------------------------------------------------------------------------------------------
# The ECS container-credentials endpoint


@dataclass(frozen=True)
class Credentials:
    """One set of temporary credentials as the ECS agent serves a task role's."""

    access_key_id: str
    secret_access_key: str
    token: str

    @classmethod
    def random(cls) -> Credentials:
        """Fresh values made at run time: a request signed with them got them from the endpoint."""
        upper = string.ascii_uppercase + string.digits
        return cls(
            "ASIA" + "".join(secrets.choice(upper) for _ in range(16)),
            secrets.token_urlsafe(30),
            secrets.token_urlsafe(60),
        )


class CredentialsEndpoint:
    """A fake of the ECS agent's credentials endpoint on 127.0.0.1: one secret path, one set of credentials.

    Every request is recorded (path and User-Agent), so a test can see that boto3 and GDAL each asked.
    """

    def __init__(self) -> None:
        self.credentials = Credentials.random()
        self.path = f"/v2/credentials/{uuid.uuid4()}"
        self.requests: list[dict[str, str]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                endpoint.requests.append(
                    {"path": self.path, "user_agent": self.headers.get("User-Agent", "")}
                )
                if self.path != endpoint.path:
                    self.send_error(404)
                    return
                body = json.dumps(endpoint.document()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{self.path}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def document(self) -> dict[str, str]:
        """The JSON the ECS agent answers with."""
        expiration = datetime.now(UTC) + timedelta(hours=6)
        return {
            "RoleArn": "arn:aws:iam::123456789012:role/scoresby-test-job",
            "AccessKeyId": self.credentials.access_key_id,
            "SecretAccessKey": self.credentials.secret_access_key,
            "Token": self.credentials.token,
            "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def start(self) -> CredentialsEndpoint:
        """Serve in a thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def credentials_endpoint() -> Iterator[CredentialsEndpoint]:
    """A running CredentialsEndpoint, stopped after."""
    endpoint = CredentialsEndpoint().start()
    try:
        yield endpoint
    finally:
        endpoint.stop()


# ---------------------------------------------------------------------------------------------------
# A Batch job as `docker run`


def resources(properties: dict[str, Any]) -> dict[str, str]:
    """VCPU / MEMORY of container properties (camelCase API form or the template's PascalCase form)."""
    found = properties.get("resourceRequirements") or properties.get("ResourceRequirements") or []
    return {(r.get("type") or r["Type"]): str(r.get("value") or r["Value"]) for r in found}


@dataclass
class BatchContainer:
    """The `docker run` of one Batch job: the image with the job's command, environment and limits."""

    image: str
    command: list[str]
    environment: dict[str, str]
    vcpus: float
    memory_mib: int
    readonly_root: bool
    scratch_paths: list[str] = field(default_factory=list)
    """Container paths of the job definition's Docker volumes (host volumes without a source path)."""
    tmpfs_paths: list[str] = field(default_factory=list)
    binds: list[tuple[Path, str, bool]] = field(default_factory=list)
    """(host path, container path, read-only) mounts; tests only (a Batch job has none)."""
    name: str = field(default_factory=lambda: f"scoresby-test-{uuid.uuid4().hex[:12]}")
    remove: bool = True
    """`--rm`; False keeps the stopped container for `docker inspect` (then `docker rm -v` it)."""

    @classmethod
    def from_job(
        cls, image: str, properties: dict[str, Any], command: list[str], environment: dict[str, str]
    ) -> BatchContainer:
        """From a job definition's containerProperties (camelCase) and the job's command and env."""
        limits = resources(properties)
        volumes = {v["name"]: v for v in properties.get("volumes", [])}
        scratch = []
        for mount in properties.get("mountPoints", []):
            volume = volumes[mount["sourceVolume"]]
            assert not (volume.get("host") or {}).get("sourcePath"), (
                f"host path volumes are not used: {volume}"
            )
            scratch.append(mount["containerPath"])
        return cls(
            image=image,
            command=list(command),
            environment=dict(environment),
            vcpus=float(limits["VCPU"]),
            memory_mib=int(limits["MEMORY"]),
            readonly_root=bool(properties.get("readonlyRootFilesystem", False)),
            scratch_paths=scratch,
        )

    def argv(self, *, detach: bool = False) -> list[str]:
        """The `docker run` arguments (without the client itself)."""
        args = ["run", "--name", self.name, "--network", "host"]
        if self.remove:
            args.append("--rm")
        if detach:
            args.append("--detach")
        args += ["--cpus", f"{self.vcpus:g}", "--memory", f"{self.memory_mib}m"]
        args += ["--memory-swap", f"{self.memory_mib}m"]  # no swap: the job's memory is a hard limit
        if self.readonly_root:
            args.append("--read-only")
        for path in self.scratch_paths:
            args += ["--mount", f"type=volume,dst={path}"]  # anonymous: removed with the container (--rm)
        for path in self.tmpfs_paths:
            args += ["--tmpfs", f"{path}:rw,nosuid,nodev,exec"]
        for host, container, readonly in self.binds:
            args += ["--mount", f"type=bind,src={host},dst={container}" + (",readonly" if readonly else "")]
        for key, value in sorted(self.environment.items()):
            args += ["--env", f"{key}={value}"]
        return [*args, self.image, *self.command]

    def run(self, timeout_s: float) -> subprocess.CompletedProcess[str]:
        """Run to completion; on timeout the container is killed and TimeoutExpired raised."""
        client = docker_client()
        assert client, "no docker client"
        try:
            return subprocess.run(
                [client, *self.argv()], capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            docker("kill", self.name, check=False)
            raise


def instance_env(credentials_url: str, region: str, endpoint: str | None = None) -> dict[str, str]:
    """What the Batch instance adds to a job's environment: credentials endpoint, region; moto's endpoint."""
    env = {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": credentials_url,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint  # test-only: boto3 to moto; the worker points GDAL at it too
    return env


def batch_retry_action(
    retry_strategy: dict[str, Any], exit_code: int, status_reason: str, reason: str = ""
) -> str:
    """What Batch does after a failed attempt: the first evaluateOnExit rule whose globs all match.

    AWS Batch: each rule's onExitCode / onStatusReason / onReason is a glob (`*` at the end, or alone)
    matched against the attempt; the first rule that matches decides; when none matches the job is retried.
    A field the attempt does not have is matched as "" (so `onReason: "*"` is a catch-all, as AWS documents).
    """
    attempt = {"onExitCode": str(exit_code), "onStatusReason": status_reason, "onReason": reason}
    for rule in retry_strategy.get("evaluateOnExit", []):
        if all(fnmatch.fnmatchcase(value, rule[key]) for key, value in attempt.items() if key in rule):
            return str(rule["action"]).upper()
    return "RETRY"
