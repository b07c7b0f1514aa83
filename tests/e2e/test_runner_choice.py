"""How the e2e test runs Batch jobs: containers where Docker can run them, never a silent fallback in CI."""

from __future__ import annotations

import pytest

from tests import containers
from tests.containers import BatchContainer, batch_retry_action
from tests.e2e import harness

NO_ENGINE = "no Docker engine answers (make test-image starts one)"


@pytest.fixture
def no_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine without a Docker engine."""
    monkeypatch.setattr(containers, "docker_problem", lambda image: NO_ENGINE)
    for name in ("CI", harness.RUNNER_ENV, containers.IMAGE_ENV):
        monkeypatch.delenv(name, raising=False)


def test_without_docker_a_laptop_falls_back_to_host_processes_with_a_warning(no_docker: None) -> None:
    with pytest.warns(UserWarning, match="host processes"):
        assert harness.choose_image() is None


@pytest.mark.parametrize(
    ("name", "value"), [("CI", "true"), (harness.RUNNER_ENV, "docker"), (containers.IMAGE_ENV, "x:1")]
)
def test_without_docker_ci_or_an_explicit_image_fails(
    no_docker: None, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(pytest.fail.Exception, match="no Docker engine"):
        harness.choose_image()


def test_host_processes_only_when_asked_or_docker_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(containers, "docker_problem", lambda image: None)
    monkeypatch.delenv(containers.IMAGE_ENV, raising=False)
    monkeypatch.delenv(harness.RUNNER_ENV, raising=False)
    assert harness.choose_image() == containers.DEFAULT_IMAGE
    monkeypatch.setenv(harness.RUNNER_ENV, "host")
    assert harness.choose_image() is None


def test_a_job_becomes_docker_run_with_its_limits_read_only_root_scratch_volume_and_env() -> None:
    properties = {
        "resourceRequirements": [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "1536"}],
        "readonlyRootFilesystem": True,
        "volumes": [{"name": "scratch", "host": {}}],
        "mountPoints": [{"containerPath": "/tmp", "sourceVolume": "scratch"}],
    }
    run = BatchContainer.from_job("img:1", properties, ["{}", "--output", "s3://b/p/"], {"A": "1"})
    argv = run.argv()
    assert argv[argv.index("--cpus") + 1] == "2"
    assert argv[argv.index("--memory") + 1] == argv[argv.index("--memory-swap") + 1] == "1536m"
    assert "--read-only" in argv and "type=volume,dst=/tmp" in argv and "A=1" in argv
    assert argv[-4:] == ["img:1", "{}", "--output", "s3://b/p/"]


@pytest.mark.parametrize(
    ("exit_code", "status_reason", "action"),
    [
        (143, "Host EC2 (instance i-0123) terminated.", "RETRY"),
        (143, "Job attempt duration exceeded timeout", "EXIT"),
        (1, "Essential container in task exited", "EXIT"),
    ],
)
def test_batch_retry_rules_are_read_first_match_wins(exit_code: int, status_reason: str, action: str) -> None:
    strategy = {
        "attempts": 3,
        "evaluateOnExit": [
            {"action": "RETRY", "onStatusReason": "Host EC2*"},
            {"action": "EXIT", "onReason": "*"},
        ],
    }
    assert batch_retry_action(strategy, exit_code, status_reason) == action
    assert batch_retry_action({"evaluateOnExit": []}, exit_code, status_reason) == "RETRY"  # no rule matched
