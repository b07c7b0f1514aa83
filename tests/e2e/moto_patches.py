"""Test-only patches that let moto 5.2.x run the Scoresby state machine end to end.

Three gaps of moto are closed here, each with `pytest.MonkeyPatch` so nothing leaks past a test module:

1. The `batch:submitJob.sync` casing bug: moto's `StateTaskServiceBatch` inherits empty
   `_normalise_parameters` / `_normalise_response` hooks, so the state machine's PascalCase parameters
   (`JobName`, `ContainerOverrides`) reach boto3 unconverted and every Batch task fails with
   `States.Runtime` / `'JobName'`. `fix_batch_casing` implements both hooks with botocore's service
   model and the base class's own `_to_boto_request` / `_from_boto_response` helpers, which is what
   AWS does (the Batch API is camelCase, Step Functions shows it PascalCase).
2. Lambda without docker only echoes its payload: `route_lambdas` sends each invocation of a named
   function to the real Python handler, in-process, with the function's configured environment.
3. Batch without docker marks every job SUCCEEDED at once: `run_batch_jobs_with` hands each submitted
   job to a runner (the e2e test runs it as a container of the worker image) and sets the job
   SUCCEEDED or FAILED, with a status reason, from what the runner reports.

`throttle_batch_submits` is not a gap of moto but a fault to inject: SubmitJob answering
TooManyRequestsException, to show the state machine's Retry on Batch throttling works.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.session
import pytest
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.batch.models import Job
from moto.batch_simple.models import BatchSimpleBackend
from moto.core.exceptions import AWSError
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch import (
    StateTaskServiceBatch,
)

_BOTO_SESSION = botocore.session.get_session()


def _operation_model(service: str, action: str) -> Any:
    """botocore's model of `action` (submitJob, submit_job or SubmitJob) of `service`."""
    name = "".join(part[:1].upper() + part[1:] for part in action.split("_"))
    return _BOTO_SESSION.get_service_model(service).operation_model(name)


def fix_batch_casing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Implement the empty request/response normalisation hooks of moto's Batch task service."""

    def _normalise_parameters(
        self: StateTaskServiceBatch,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        op = _operation_model(
            self._get_boto_service_name(boto_service_name), service_action_name or self.resource.api_action
        )
        self._to_boto_request(parameters, op.input_shape)

    def _normalise_response(
        self: StateTaskServiceBatch,
        response: Any,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        op = _operation_model(
            self._get_boto_service_name(boto_service_name), service_action_name or self.resource.api_action
        )
        self._from_boto_response(response, op.output_shape)

    monkeypatch.setattr(StateTaskServiceBatch, "_normalise_parameters", _normalise_parameters)
    monkeypatch.setattr(StateTaskServiceBatch, "_normalise_response", _normalise_response)


@dataclass
class FakeLambdaContext:
    """The parts of the Lambda context object a handler may read."""

    function_name: str
    aws_request_id: str = "e2e-request"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = ""

    def get_remaining_time_in_millis(self) -> int:
        """Plenty of time: the e2e harness never times a handler out."""
        return 300_000


Handler = Callable[[Any, Any], Any]


def route_lambdas(
    monkeypatch: pytest.MonkeyPatch, handlers: dict[str, Handler], calls: list[dict[str, Any]] | None = None
) -> None:
    """Run the real handler of each function in `handlers` (function name -> handler) on invoke.

    The handler runs in this process with the function's configured environment variables set for the
    duration of the call (a lock serialises invocations, as os.environ is process-wide). A raised
    exception becomes a Lambda function error whose `errorType` is the exception's class name, which is
    the error name a state machine's Retry/Catch sees on AWS. Each call is appended to `calls`.
    """
    original_invoke = LambdaSimpleBackend.invoke
    lock = threading.Lock()

    def invoke(
        self: LambdaSimpleBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        request_headers: Any,
        response_headers: Any,
    ) -> Any:
        fn = self.get_function(function_name, qualifier)
        handler = handlers.get(fn.function_name)
        if handler is None:
            return original_invoke(self, function_name, qualifier, body, request_headers, response_headers)
        event = json.loads(body) if body else {}
        with lock, monkeypatch.context() as m:
            for key, value in (fn.environment_vars or {}).items():
                m.setenv(key, str(value))
            try:
                result = handler(
                    event, FakeLambdaContext(fn.function_name, invoked_function_arn=fn.function_arn)
                )
                payload = json.dumps(result)
                if calls is not None:
                    calls.append({"function": fn.function_name, "event": event, "result": result})
            except Exception as exc:  # noqa: BLE001 - becomes the Lambda function error, as on AWS
                response_headers["x-amz-function-error"] = "Unhandled"
                payload = json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)})
                if calls is not None:
                    calls.append({"function": fn.function_name, "event": event, "error": payload})
        return payload.encode("utf-8")

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)


@dataclass
class BatchOutcome:
    """What a job runner reports: the container's exit code and, for failures, a status reason."""

    exit_code: int
    status_reason: str | None = None


JobRunner = Callable[[Job, list[str], dict[str, str]], BatchOutcome]


def job_environment(job: Job) -> dict[str, str]:
    """The container environment of a job as Batch builds it: job definition env, overridden by the job's."""
    props = job.job_definition.container_properties or {}
    env = {e["name"]: e["value"] for e in props.get("environment", [])}
    env.update({e["name"]: e["value"] for e in (job.container_overrides or {}).get("environment", [])})
    env["AWS_BATCH_JOB_ID"] = job.job_id
    return env


def job_command(job: Job) -> list[str]:
    """The container command of a job: the override if given, else the job definition's, Ref:: resolved."""
    props = job.job_definition.container_properties or {}
    command = (job.container_overrides or {}).get("command") or props.get("command") or []
    return list(job._add_parameters_to_command(command))


def run_batch_jobs_with(monkeypatch: pytest.MonkeyPatch, runner: JobRunner) -> None:
    """Run every job submitted to moto's docker-less Batch with `runner`, synchronously, at submission.

    The job ends SUCCEEDED when the runner reports exit code 0, else FAILED with the runner's status
    reason (AWS says "Essential container in task exited" for a non-zero exit), so a
    `submitJob.sync` task fails and the state machine's Catch runs.
    """

    def _mark_job_as_finished(self: BatchSimpleBackend, include_start_attempt: bool, job: Job) -> None:
        import datetime

        self.backend._jobs[job.job_id] = job
        job.job_started_at = datetime.datetime.now()
        job.log_stream_name = job._stream_name
        if include_start_attempt:
            job._start_attempt()
        try:
            outcome = runner(job, job_command(job), job_environment(job))
        except Exception as exc:  # noqa: BLE001 - a harness error must fail the job, not hang the state machine
            outcome = BatchOutcome(exit_code=255, status_reason=f"e2e harness could not run the job: {exc!r}")
        job.exit_code = outcome.exit_code
        if outcome.exit_code != 0:
            job.job_stopped_reason = outcome.status_reason or "Essential container in task exited"
        job._mark_stopped(success=outcome.exit_code == 0)

    monkeypatch.setattr(BatchSimpleBackend, "_mark_job_as_finished", _mark_job_as_finished)


class _TooManyRequests(AWSError):
    """What the Batch API answers when it throttles SubmitJob (HTTP 429)."""

    TYPE = "TooManyRequestsException"
    STATUS = 429


def throttle_batch_submits(monkeypatch: pytest.MonkeyPatch, times: int) -> list[str]:
    """Make the next `times` SubmitJob calls fail with TooManyRequestsException; returns their job names."""
    original = BatchSimpleBackend.submit_job
    throttled: list[str] = []

    def submit_job(self: BatchSimpleBackend, job_name: str, *args: Any, **kwargs: Any) -> Any:
        if len(throttled) < times:
            throttled.append(job_name)
            raise _TooManyRequests("Too Many Requests")
        return original(self, job_name, *args, **kwargs)

    monkeypatch.setattr(BatchSimpleBackend, "submit_job", submit_job)
    return throttled
