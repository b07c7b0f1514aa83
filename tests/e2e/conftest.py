"""One moto world for the tests/e2e package: the synthesized stack in moto, patches, handlers, worker.

Package-scoped so the CDK app is synthesized once (about 15 s and a node process) and the real scenes are
uploaded once; `mock_aws` is active only while tests of this package run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from scoresby.core.config import SCENES_PER_JOB
from tests import containers, prerequisites
from tests.e2e import harness
from tests.e2e.moto_patches import fix_batch_casing, route_lambdas, run_batch_jobs_with


@pytest.fixture(scope="package")
def real_data() -> None:
    """../shared/data/real must be there (checked before the 15 s synthesis); skips with the reason if not."""
    if not harness.REAL_DATA.is_dir():
        prerequisites.missing(
            f"real sample data not found at {harness.REAL_DATA} (see ../shared/data/real/README.md)"
        )


@pytest.fixture(scope="package")
def template(real_data: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """app.py's stack, synthesized once for the package."""
    return harness.synthesize_template(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="package")
def world(template: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """moto with the stack's resources, the patches, the real handlers and the worker container runner.

    Yields {"stack": MotoStack, "container": WorkerContainer, "lambda_calls": [...]}.
    """
    image = harness.choose_image()  # before moto: the docker checks must not meet mock_aws
    with pytest.MonkeyPatch.context() as mp, ExitStack() as stack_credentials:
        for key, value in harness.FAKE_ENV.items():
            mp.setenv(key, value)
        for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "SCORESBY_TASK_TABLE"):
            mp.delenv(key, raising=False)
        with mock_aws(config=harness.MOTO_CONFIG):
            # The same in-process backends over HTTP, for the worker subprocesses (see the e2e module doc).
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            server.start()
            host, port = server.get_host_and_port()
            try:
                stack = harness.deploy_template(template)
                # One scene per job for the tests that name a job per scene; the template's default
                # (scenesPerJob 31) is checked by tests/infra, and test_scenes_per_job.py runs batches of 3.
                harness.set_init_env(stack, SCENES_PER_JOB, "1")
                harness.create_outputs_stack(stack.outputs)
                harness.upload_sources(boto3.client("s3"))
                credentials = stack_credentials.enter_context(containers.credentials_endpoint())
                container = harness.WorkerContainer(f"http://{host}:{port}", credentials.url, image)
                lambda_calls: list[dict[str, Any]] = []
                fix_batch_casing(mp)
                route_lambdas(mp, harness.real_handlers(stack.functions), lambda_calls)
                run_batch_jobs_with(mp, container)
                yield {"stack": stack, "container": container, "lambda_calls": lambda_calls}
            finally:
                server.stop()
