"""core.contract: the payload keys infra's JSONPaths may name, and the init and summary results' shapes."""

from __future__ import annotations

import pytest

from scoresby.core import contract
from scoresby.core.contract import FailedScene, JobInput, RunState, state_path


def test_state_path_names_keys_of_the_payload_only() -> None:
    assert state_path(RunState, "items_s3", "key") == "$.items_s3.key"
    assert state_path(JobInput, "scenes") == "$.scenes"
    with pytest.raises(KeyError, match="'item' is not a key of RunState"):
        state_path(RunState, "item")
    with pytest.raises(KeyError, match="JobInput"):
        state_path(JobInput, "counts")  # a run's key, not a job's


def test_state_path_checks_nested_keys_down_to_the_first_plain_dict() -> None:
    assert state_path(FailedScene, "failure", "job", "StatusReason") == "$.failure.job.StatusReason"
    with pytest.raises(KeyError, match="'scene_name' is not a key of SceneKey"):
        state_path(FailedScene, "scene", "scene_name")
    with pytest.raises(KeyError, match="'Reason' is not a key of DescribedJob"):
        state_path(FailedScene, "failure", "job", "Reason")
    with pytest.raises(KeyError, match="'subjet' is not a key of SummaryResult"):
        state_path(RunState, "summary", "subjet")
    # Below a plain dict (a DynamoDB row, the time-series result) the keys are the data's own.
    assert state_path(FailedScene, "recorded", "Attributes", "error", "M") == "$.recorded.Attributes.error.M"
    assert state_path(RunState, "timeseries", "job") == "$.timeseries.job"


def test_stack_output_names_are_distinct() -> None:
    names = [v for k, v in vars(contract).items() if k.endswith("_OUTPUT")]
    assert len(names) == len(set(names)) == 10
