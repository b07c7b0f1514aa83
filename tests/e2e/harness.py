"""The deployed Scoresby stack, recreated in moto from the synthesized CloudFormation template.

`synthesize_template` runs app.py's `build_app` once; `deploy_template` creates, in the current `mock_aws`
context, one moto resource per template resource the run needs (buckets, the task table with the template's
key schema and GSI, the SNS topic plus an SQS subscription to read what it sends, the Batch compute
environment/queue/job definitions (scene and place jobs), both Lambda functions, the state machine), then
resolves the state machine's DefinitionString (Fn::Join / Ref / Fn::GetAtt / Fn::Sub) against them. Nothing
of the definition is hand-written here.

`WorkerContainer` plays the Batch container: `docker run` of the worker image (`make image`) with exactly
the submitted job's command, environment, vCPUs, memory, read-only root and scratch volume; its AWS calls
(boto3 and GDAL's /vsis3/) go to a moto server that shares the in-process backends, with credentials from a
fake ECS container-credentials endpoint. Without Docker it falls back to running the Dockerfile's
ENTRYPOINT as a host process (never in CI; see `choose_image`).
"""

from __future__ import annotations

import importlib
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests import cfn, containers, prerequisites
from tests.conftest import FAKE_CREDENTIALS
from tests.e2e.moto_patches import BatchOutcome

REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_DATA = REPO_ROOT.parent / "shared" / "data" / "real"
DOCKERFILE = REPO_ROOT / "worker" / "Dockerfile"
REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK_NAME = "Scoresby"
MOTO_CONFIG = {
    "stepfunctions": {"execute_state_machine": True},
    "batch": {"use_docker": False},
    "lambda": {"use_docker": False},
}
FAKE_ENV = {
    **FAKE_CREDENTIALS,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
SOURCES_BUCKET = "scoresby-e2e-sources"
L8 = "landsat8/LC08_L2SP_001062_20201031_20201106_02_T2"
S2 = "sentinel2/S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT_20230124T042703"
L8_ID = "LC08_L2SP_001062_20201031_20201106_02_T2"
S2_ID = "S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT_20230124T042703"
BROKEN_ID = "LC08_L2SP_001062_20201031_20201106_02_T2_noB7"
"""The Landsat scene again, without SR_B7: false_color_ice fails on it with MissingBands."""
BLOG_FILES = "tiles/1/U/BT/2023/1/22/0/R10m/"
"""The Sentinel-2 scene's 10 m bands under a blog-style tiles/ prefix."""
PSEUDO = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": STACK_NAME,
    "AWS::NoValue": None,
}


def synthesize_template(outdir: Path) -> dict[str, Any]:
    """Synthesize app.py's app (default context) into `outdir` and return the stack's template."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from aws_cdk import App

    import app as cdk_app

    cdk_app.build_app(App(outdir=str(outdir))).synth()
    return json.loads((outdir / f"{cdk_app.STACK_NAME}.template.json").read_text())


# ---------------------------------------------------------------------------------------------------
# Intrinsic functions


def resolve(value: Any, refs: dict[str, dict[str, Any]]) -> Any:
    """Resolve the template's intrinsics against the created resources (`refs[logical_id][attr]`)."""

    def lookup(logical_id: str, attr: str) -> Any:
        if logical_id in PSEUDO:
            return PSEUDO[logical_id]
        try:
            return refs[logical_id][attr]
        except KeyError:
            raise KeyError(
                f"template refers to {logical_id}.{attr}, which the e2e harness did not create"
            ) from None

    return cfn.resolve(value, lookup)


def _camel(value: Any, *, keep_keys_under: tuple[str, ...] = ("Options",)) -> Any:
    """CloudFormation's PascalCase property names -> the API's camelCase (Batch job definition)."""
    if isinstance(value, list):
        return [_camel(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for k, v in value.items():
        out[k[:1].lower() + k[1:]] = v if k in keep_keys_under else _camel(v)
    return out


def resources_of(template: dict[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource of one CloudFormation type."""
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_name}


def only(template: dict[str, Any], type_name: str, name_contains: str = "") -> tuple[str, dict[str, Any]]:
    """The one resource of a type (whose logical id contains `name_contains`)."""
    found = [(k, v) for k, v in resources_of(template, type_name).items() if name_contains in k]
    assert len(found) == 1, f"expected one {type_name} {name_contains!r}, found {[k for k, _ in found]}"
    return found[0]


# ---------------------------------------------------------------------------------------------------
# Deploying the template into moto


@dataclass
class MotoStack:
    """The stack's resources in moto, and helpers to run and observe executions."""

    template: dict[str, Any]
    refs: dict[str, dict[str, Any]]
    outputs: dict[str, str]
    definition: dict[str, Any]
    state_machine_arn: str
    output_bucket: str
    items_bucket: str
    table_name: str
    topic_arn: str
    queue_url: str
    functions: dict[str, str]  # function name -> handler path from the template
    messages: list[dict[str, Any]] = field(default_factory=list)

    def start(self, name: str, doc: Any) -> str:
        """Start an execution of the state machine with `doc` as input; returns its ARN."""
        sfn = boto3.client("stepfunctions")
        return str(
            sfn.start_execution(stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(doc))[
                "executionArn"
            ]
        )

    def wait(self, execution_arn: str, timeout_s: float = 300) -> dict[str, Any]:
        """Poll until the execution leaves RUNNING; returns describe_execution."""
        sfn = boto3.client("stepfunctions")
        deadline = time.monotonic() + timeout_s
        while True:
            described = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return dict(described)
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_arn} still RUNNING after {timeout_s} s")
            time.sleep(0.25)

    def drain_messages(self) -> list[dict[str, Any]]:
        """SNS notifications that reached the SQS subscription since the last call (Subject, Message)."""
        sqs = boto3.client("sqs")
        new = []
        while True:
            got = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                break
            for m in got:
                envelope = json.loads(m["Body"])
                new.append({"Subject": envelope.get("Subject"), "Message": envelope["Message"]})
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        self.messages.extend(new)
        return new

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """The execution's full event history."""
        sfn = boto3.client("stepfunctions")
        events, token = [], None
        while True:
            kwargs = {"executionArn": execution_arn, "maxResults": 1000}
            if token:
                kwargs["nextToken"] = token
            page = sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            token = page.get("nextToken")
            if not token:
                return events


def _dummy_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("placeholder.py", "# moto never runs this: invocations are routed to the real handler\n")
    return buf.getvalue()


def deploy_template(template: dict[str, Any]) -> MotoStack:
    """Create the template's run-time resources in moto (inside an active mock_aws) and its state machine."""
    refs: dict[str, dict[str, Any]] = {}
    iam = boto3.client("iam")
    role_arn = iam.create_role(RoleName="scoresby-e2e", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    for logical_id in resources_of(template, "AWS::IAM::Role"):
        refs[logical_id] = {"Ref": "scoresby-e2e", "Arn": role_arn}
    for logical_id in resources_of(template, "AWS::Logs::LogGroup"):
        arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{logical_id}:*"
        refs[logical_id] = {"Ref": logical_id, "Arn": arn}
    for logical_id in resources_of(template, "AWS::KMS::Key"):
        refs[logical_id] = {"Ref": "e2e-key", "Arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/e2e-key"}

    s3 = boto3.client("s3")
    for logical_id in resources_of(template, "AWS::S3::Bucket"):
        name = logical_id.lower()
        s3.create_bucket(Bucket=name)
        refs[logical_id] = {
            "Ref": name,
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
        }

    dynamodb = boto3.client("dynamodb")
    table_id, table = only(template, "AWS::DynamoDB::GlobalTable")
    props = table["Properties"]
    dynamodb.create_table(
        TableName=table_id,
        KeySchema=props["KeySchema"],
        AttributeDefinitions=props["AttributeDefinitions"],
        GlobalSecondaryIndexes=props.get("GlobalSecondaryIndexes", []),
        BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
    )
    refs[table_id] = {"Ref": table_id, "Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table_id}"}

    sns = boto3.client("sns")
    topic_id, _ = only(template, "AWS::SNS::Topic")
    topic_arn = sns.create_topic(Name=topic_id)["TopicArn"]
    refs[topic_id] = {"Ref": topic_arn, "TopicArn": topic_arn, "TopicName": topic_id}
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="scoresby-e2e-notifications")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)  # envelope keeps the Subject

    batch = boto3.client("batch")
    ce_id, _ = only(template, "AWS::Batch::ComputeEnvironment")
    # Spot/instance settings are checked by tests/infra; moto's docker-less Batch runs jobs without one.
    ce_arn = batch.create_compute_environment(
        computeEnvironmentName=ce_id, type="UNMANAGED", state="ENABLED", serviceRole=role_arn
    )["computeEnvironmentArn"]
    refs[ce_id] = {"Ref": ce_arn, "ComputeEnvironmentArn": ce_arn}
    queue_id, queue = only(template, "AWS::Batch::JobQueue")
    qprops = resolve(queue["Properties"], refs)
    job_queue_arn = batch.create_job_queue(
        jobQueueName=queue_id,
        state=qprops.get("State", "ENABLED"),
        priority=qprops["Priority"],
        computeEnvironmentOrder=_camel(qprops["ComputeEnvironmentOrder"]),
    )["jobQueueArn"]
    refs[queue_id] = {"Ref": job_queue_arn, "JobQueueArn": job_queue_arn}
    for jd_id, jd in resources_of(template, "AWS::Batch::JobDefinition").items():  # scene and place jobs
        jprops = resolve(jd["Properties"], refs)
        job_definition_arn = batch.register_job_definition(
            jobDefinitionName=jd_id,
            type=jprops["Type"],
            containerProperties=_camel(jprops["ContainerProperties"]),
            retryStrategy=_camel(jprops.get("RetryStrategy", {})),
            timeout=_camel(jprops.get("Timeout", {})),
            platformCapabilities=jprops.get("PlatformCapabilities", ["EC2"]),
            propagateTags=jprops.get("PropagateTags", False),
        )["jobDefinitionArn"]
        refs[jd_id] = {"Ref": job_definition_arn}

    lam = boto3.client("lambda")
    for layer_id in resources_of(template, "AWS::Lambda::LayerVersion"):  # the init function's search layer
        refs[layer_id] = {"Ref": f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{layer_id}:1"}
    functions = {}
    for fn_id, fn in resources_of(template, "AWS::Lambda::Function").items():
        fprops = resolve(fn["Properties"], refs)
        arn = lam.create_function(
            FunctionName=fn_id,
            Runtime="python3.12",  # moto 5.2 does not list the template's newer runtime; never executed
            Role=role_arn,
            Handler=fprops["Handler"],
            Code={"ZipFile": _dummy_zip()},
            Environment={"Variables": fprops.get("Environment", {}).get("Variables", {})},
            Timeout=int(fprops.get("Timeout", 3)),
        )["FunctionArn"]
        refs[fn_id] = {"Ref": fn_id, "Arn": arn}
        functions[fn_id] = fprops["Handler"]

    sm_id, sm = only(template, "AWS::StepFunctions::StateMachine")
    definition_text = resolve(sm["Properties"]["DefinitionString"], refs)
    sfn = boto3.client("stepfunctions")
    state_machine_arn = sfn.create_state_machine(name=sm_id, definition=definition_text, roleArn=role_arn)[
        "stateMachineArn"
    ]
    refs[sm_id] = {"Ref": state_machine_arn, "Name": sm_id}

    outputs = {k: str(resolve(v["Value"], refs)) for k, v in template.get("Outputs", {}).items()}
    items_id, _ = only(template, "AWS::S3::Bucket", "Work")
    return MotoStack(
        template=template,
        refs=refs,
        outputs=outputs,
        definition=json.loads(definition_text),
        state_machine_arn=state_machine_arn,
        output_bucket=outputs["OutputBucketName"],
        items_bucket=refs[items_id]["Ref"],
        table_name=outputs["TaskTableName"],
        topic_arn=topic_arn,
        queue_url=queue_url,
        functions=functions,
    )


def set_init_env(stack: MotoStack, name: str, value: str) -> str:
    """Set one environment variable of the init function in moto (scenesPerJob); returns the old value."""
    lam = boto3.client("lambda")
    fn_id = next(k for k, v in stack.functions.items() if v.startswith("lambdas.init_pipeline"))
    env = lam.get_function_configuration(FunctionName=fn_id)["Environment"]["Variables"]
    old = env.get(name, "")
    lam.update_function_configuration(FunctionName=fn_id, Environment={"Variables": {**env, name: value}})
    return str(old)


def create_outputs_stack(outputs: dict[str, str], stack_name: str = STACK_NAME) -> None:
    """A minimal CloudFormation stack in moto with the synthesized stack's Outputs (for `scoresby submit`)."""
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {k: {"Value": v} for k, v in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName=stack_name, TemplateBody=json.dumps(template))


def real_handlers(functions: dict[str, str]) -> dict[str, Callable[[Any, Any], Any]]:
    """Function name -> the real handler its template Handler names, e.g. lambdas.init_pipeline.handler."""
    out = {}
    for name, path in functions.items():
        module, _, attr = path.rpartition(".")
        out[name] = getattr(importlib.import_module(module), attr)
    return out


# ---------------------------------------------------------------------------------------------------
# The Batch container


def dockerfile_entrypoint_and_env(path: Path = DOCKERFILE) -> tuple[list[str], dict[str, str]]:
    """The image's ENTRYPOINT (exec form) and ENV settings (final stage), read from the stack's Dockerfile."""
    text = path.read_text().replace("\\\n", " ")
    entrypoint: list[str] = []
    env: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("FROM "):
            env = {}  # ENV does not carry over from a build stage
        elif line.startswith("ENTRYPOINT"):
            entrypoint = json.loads(line[len("ENTRYPOINT") :].strip())
        elif line.startswith("ENV "):
            for key, value in re.findall(r"(\w+)=(\S+)", line[4:]):
                env[key] = value
    assert entrypoint, f"no exec-form ENTRYPOINT in {path}"
    return entrypoint, env


@dataclass
class ContainerRun:
    """One job the harness ran: what Batch was asked to run and how it ended."""

    job_id: str
    job_name: str
    argv: list[str]
    job_env: dict[str, str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


RUNNER_ENV = "SCORESBY_E2E_RUNNER"
"""`docker` (every job a container of the image), `host` (a host process), unset: docker where it can run."""


def choose_image() -> str | None:
    """The image the Batch jobs run in, or None for host processes (the fallback for machines without Docker).

    Docker is required when SCORESBY_E2E_RUNNER=docker or SCORESBY_IMAGE is set (a failure if it cannot
    run), and in CI (prerequisites.missing fails there); elsewhere its absence falls back with a warning.
    """
    choice = os.environ.get(RUNNER_ENV, "")
    if choice == "host":
        return None
    if choice not in ("", "docker"):
        pytest.fail(f"{RUNNER_ENV}={choice!r}: allowed are docker, host or unset", pytrace=False)
    image = os.environ.get(containers.IMAGE_ENV) or containers.DEFAULT_IMAGE
    problem = containers.docker_problem(image)
    if problem is None:
        return image
    if choice == "docker" or os.environ.get(containers.IMAGE_ENV):
        pytest.fail(f"Batch jobs cannot run as containers of {image}: {problem}", pytrace=False)
    if prerequisites.in_ci():
        pytest.fail(f"CI prerequisite missing: Batch jobs cannot run as containers of {image}: {problem}")
    warnings.warn(f"e2e: Batch jobs run as host processes ({problem})", stacklevel=2)
    return None


class WorkerContainer:
    """Runs each Batch job as the worker image: `docker run` of the job, or a host process as the fallback.

    In a container (`image` given): exactly the job's command, environment, vCPUs, memory, read-only root
    and scratch volume (tests/containers.py BatchContainer). What the "instance" adds on AWS is added the same
    way in both variants: credentials from the ECS container-credentials endpoint (a fake on loopback; the
    job role on AWS), the region, and the endpoint of the moto server (AWS_ENDPOINT_URL, which the worker
    also points GDAL at). The host fallback runs the Dockerfile's ENTRYPOINT as `python -m scoresby.cli` from
    this checkout, with the image's ENV.
    """

    def __init__(
        self, endpoint: str, credentials_url: str, image: str | None, timeout_s: float = 240
    ) -> None:
        self.endpoint = endpoint
        self.credentials_url = credentials_url
        self.image = image
        self.timeout_s = timeout_s
        self.entrypoint, self.image_env = dockerfile_entrypoint_and_env()
        self.runs: list[ContainerRun] = []
        self.faults: dict[str, BatchOutcome] = {}
        """job name -> outcome to report *without* running the container (a killed or lost container)."""
        self._lock = threading.Lock()

    def instance_env(self) -> dict[str, str]:
        """Environment from outside the job: credentials endpoint, region, moto's endpoint. No access keys."""
        return containers.instance_env(self.credentials_url, REGION, self.endpoint)

    def __call__(self, job: Any, command: list[str], job_env: dict[str, str]) -> BatchOutcome:
        """Run one job to completion (moto_patches.run_batch_jobs_with calls this at submission)."""
        fault = self.faults.pop(job.job_name, None)
        if fault is not None:
            with self._lock:
                self.runs.append(
                    ContainerRun(job.job_id, job.job_name, [], job_env, fault.exit_code, "", "", 0.0)
                )
            return fault
        t0 = time.monotonic()
        if self.image is None:
            argv, proc = self._run_on_host(command, job_env)
        else:
            argv, proc = self._run_in_container(job, command, job_env)
        run = ContainerRun(
            job.job_id,
            job.job_name,
            argv,
            job_env,
            proc.returncode,
            proc.stdout,
            proc.stderr,
            time.monotonic() - t0,
        )
        with self._lock:
            self.runs.append(run)
        if proc.returncode == 0:
            return BatchOutcome(0)
        # What AWS Batch reports for a container that exited non-zero.
        return BatchOutcome(proc.returncode, "Essential container in task exited")

    def _run_in_container(
        self, job: Any, command: list[str], job_env: dict[str, str]
    ) -> tuple[list[str], subprocess.CompletedProcess[str]]:
        assert self.image is not None
        properties = dict(job.job_definition.container_properties or {})
        overrides = (job.container_overrides or {}).get("resourceRequirements") or []
        if overrides:  # the job's own vCPU/memory replace the definition's, type by type
            merged = {r["type"]: r for r in properties.get("resourceRequirements", [])}
            merged.update({r["type"]: r for r in overrides})
            properties["resourceRequirements"] = list(merged.values())
        container = containers.BatchContainer.from_job(
            self.image, properties, command, {**self.instance_env(), **job_env}
        )
        container.name = f"scoresby-e2e-{job.job_id}"
        client = containers.docker_client() or "docker"
        return [client, *container.argv()], container.run(self.timeout_s)

    def host_command(self, command: list[str], job_env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        """argv and environment of a job run as a host process (the fallback; also a test's own runs)."""
        program = self.entrypoint
        if program[0] == "scoresby":
            program = [sys.executable, "-m", "scoresby.cli", *program[1:]]
        argv = [*program, *command]
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
        env.update({k: v for k, v in self.image_env.items() if k not in ("PATH", "TMPDIR", "MPLCONFIGDIR")})
        env.update({**self.instance_env(), "PYTHONPATH": str(REPO_ROOT), **job_env})
        return argv, env

    def _run_on_host(
        self, command: list[str], job_env: dict[str, str]
    ) -> tuple[list[str], subprocess.CompletedProcess[str]]:
        argv, env = self.host_command(command, job_env)
        proc = subprocess.run(
            argv, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=self.timeout_s, check=False
        )
        return argv, proc


def scene_runs(runs: list[ContainerRun]) -> list[ContainerRun]:
    """The scene jobs among `runs`: without the time-series job after the Map and the place stage's jobs."""
    from infra.timeseries_step import TIMESERIES_JOB_NAME

    return [r for r in runs if r.job_name != TIMESERIES_JOB_NAME and not is_place_job(r)]


def is_place_job(run: ContainerRun) -> bool:
    """A job of the place stage (plan, an item of one of its job lists, finish): by its Batch job name."""
    from scoresby.core.place_stage import PLACE_JOB_PREFIX

    return run.job_name.startswith(PLACE_JOB_PREFIX)


# ---------------------------------------------------------------------------------------------------
# Source scenes


def upload_sources(s3: Any) -> None:
    """The real scenes into the sources bucket; the broken copy of the Landsat scene has no SR_B7."""
    s3.create_bucket(Bucket=SOURCES_BUCKET)
    for folder in (L8, S2):
        for f in sorted((REAL_DATA / folder).iterdir()):
            if f.name != "PROVENANCE.md":
                s3.upload_file(str(f), SOURCES_BUCKET, f"{folder}/{f.name}")
    for f in sorted((REAL_DATA / L8).iterdir()):
        if f.name != "PROVENANCE.md" and not f.name.endswith("_SR_B7.TIF"):
            s3.upload_file(str(f), SOURCES_BUCKET, f"broken/{L8_ID}/{f.name}")
    for f in sorted((REAL_DATA / S2).iterdir()):
        if "_10m" in f.name:
            s3.upload_file(str(f), SOURCES_BUCKET, f"{BLOG_FILES}{f.name}")
