"""core.contract: the payload keys infra's JSONPaths may name, and the init and summary results' shapes."""

from __future__ import annotations

import pytest

from scoresby.core import contract
from scoresby.core.contract import JobInput, RunState, state_path


def test_state_path_names_keys_of_the_payload_only() -> None:
    assert state_path(RunState, "items_s3", "key") == "$.items_s3.key"
    assert state_path(JobInput, "scenes") == "$.scenes"
    with pytest.raises(KeyError, match="'item' is not a key of RunState"):
        state_path(RunState, "item")
    with pytest.raises(KeyError, match="JobInput"):
        state_path(JobInput, "counts")  # a run's key, not a job's


def test_stack_output_names_are_distinct() -> None:
    names = [v for k, v in vars(contract).items() if k.endswith("_OUTPUT")]
    assert len(names) == len(set(names)) == 10
