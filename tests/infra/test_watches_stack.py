"""Watches on AWS: one schedule per watch, its least-privilege role, the quiet round, the search layer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.settings import PipelineSettings, SettingsError
from tests.infra.conftest import Synth, all_states, policy_statements, state_machine_definition, synthesize
from tests.stac_server import StacServer

pytestmark = pytest.mark.slow

SUND = {
    "run_name": "scoresby-sund-landsat",
    "products": ["ndvi"],
    "search": {
        "stac": "earth-search",
        "collections": ["landsat-c2-l2"],
        "bbox": [-27.5, 70.0, -21.5, 71.5],
        "datetime": "2013-04-01/..",
        "max_cloud": 30,
    },
}
S2 = {**SUND, "run_name": "scoresby-sund-s2", "search": {**SUND["search"], "collections": ["sentinel-2-l2a"]}}


@pytest.fixture(scope="module")
def watches_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("watches")
    (folder / "sund.json").write_text(json.dumps(SUND))
    path = folder / "watches.json"
    path.write_text(
        json.dumps(
            [
                {"name": "sund", "scene_list": "sund.json"},  # a path, relative to the watches file
                {"name": "sund-s2", "scene_list": S2, "schedule": "cron(0 6 ? * MON *)"},
            ]
        )
    )
    return path


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory, watches_file: Path) -> Synth:
    context = {"watches": str(watches_file), "watchQuietRounds": "one-line"}
    return synthesize(tmp_path_factory.mktemp("cdk.out"), context)


def test_one_schedule_per_watch_starts_the_state_machine_with_the_watch(synth: Synth) -> None:
    schedules = synth.resources("AWS::Scheduler::Schedule")
    [state_machine_id] = synth.resources("AWS::StepFunctions::StateMachine")
    by_input = {}
    for schedule in schedules.values():
        props = schedule["Properties"]
        assert props["Target"]["Arn"] == {"Ref": state_machine_id}
        by_input[props["ScheduleExpression"]] = json.loads(props["Target"]["Input"])
        assert props["State"] == "ENABLED" and props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert by_input == {"rate(16 days)": {"watch": SUND}, "cron(0 6 ? * MON *)": {"watch": S2}}


def test_the_schedules_role_may_only_start_that_state_machine(synth: Synth) -> None:
    [state_machine_id] = synth.resources("AWS::StepFunctions::StateMachine")
    roles = {
        s["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
        for s in synth.resources("AWS::Scheduler::Schedule").values()
    }
    [role_id] = roles
    role = synth.template["Resources"][role_id]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert not role.get("ManagedPolicyArns")
    statements = policy_statements(synth, "WatchSchedulesRole")
    assert statements == [
        {"Action": "states:StartExecution", "Effect": "Allow", "Resource": {"Ref": state_machine_id}}
    ]


def test_the_watches_output_names_each_watch_its_run_and_schedule(synth: Synth) -> None:
    assert json.loads(synth.template["Outputs"]["Watches"]["Value"]) == [
        {"name": "sund", "run_name": "scoresby-sund-landsat", "schedule": "rate(16 days)"},
        {"name": "sund-s2", "run_name": "scoresby-sund-s2", "schedule": "cron(0 6 ? * MON *)"},
    ]


def test_a_quiet_round_ends_after_init_with_one_line_at_most(synth: Synth) -> None:
    definition = state_machine_definition(synth)
    states = all_states(definition)
    init = states[definition["StartAt"]]
    choice = states[init["Next"]]
    assert choice["Type"] == "Choice" and choice["Choices"][0]["Variable"] == "$.quiet"
    notify = states[choice["Choices"][0]["Next"]]
    assert notify["Resource"].endswith(":sns:publish") and "nothing new since" in json.dumps(notify)
    assert states[notify["Next"]]["Type"] == "Succeed"
    assert states[choice["Default"]]["Type"] == "Choice"  # ItemsInline?: every other run goes on as before


def test_the_init_function_has_the_small_search_layer(synth: Synth) -> None:
    [layer_id] = synth.resources("AWS::Lambda::LayerVersion")
    init = next(f for k, f in synth.resources("AWS::Lambda::Function").items() if "Init" in k)
    assert init["Properties"]["Layers"] == [{"Ref": layer_id}]
    layer = next(d for d in synth.asset_dirs() if (d / "python" / "pystac_client").is_dir())
    size = sum(f.stat().st_size for f in layer.rglob("*") if f.is_file())
    assert size < 8_000_000, size
    assert not list(layer.rglob("numpy")) and not list(layer.rglob("rasterio"))


SEARCH_FROM_THE_ASSET = """
import sys
for heavy in ("rasterio", "numpy", "matplotlib", "aws_cdk"):
    sys.modules[heavy] = None
asset, layer, url = sys.argv[1:4]
sys.path[:0] = [asset, layer]
import pystac_client
from scoresby.steps.init_run import _expand_search
from scoresby.core.scene_list import parse_scene_list
assert pystac_client.__file__.startswith(layer), pystac_client.__file__
plan = parse_scene_list({"run_name": "r", "search": {"stac": url, "collections": ["sentinel-2-l2a"],
                         "bbox": [-180, -90, 180, 90], "datetime": "2025-01-01/.."}})
print(len(_expand_search(plan).scenes))
"""


def test_the_staged_asset_and_layer_search_without_the_heavy_packages(
    synth: Synth, stac_api: StacServer
) -> None:
    layer = next(d for d in synth.asset_dirs() if (d / "python" / "pystac_client").is_dir())
    asset = next(
        d for d in synth.asset_dirs() if (d / "lambdas").is_dir() and (d / "scoresby" / "search").is_dir()
    )
    result = subprocess.run(
        [sys.executable, "-c", SEARCH_FROM_THE_ASSET, str(asset), str(layer / "python"), stac_api.url],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=asset,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.strip() == "6", result.stderr


# --- settings: every problem one line, at synth --------------------------------------------------------


def watches_setting(tmp_path: Path, entries: Any) -> str:
    path = tmp_path / "watches.json"
    path.write_text(json.dumps(entries))
    return str(path)


@pytest.mark.parametrize(
    ("entries", "fragment"),
    [
        (
            [{"name": "a", "scene_list": SUND, "schedule": "rate(16 day)"}],
            "[0].schedule: 'rate(16 day)' is not allowed; allowed: rate(N",
        ),
        (
            [{"name": "a", "scene_list": SUND, "schedule": "every 16 days"}],
            "[0].schedule: 'every 16 days' is not allowed",
        ),
        (
            [{"name": "a", "scene_list": SUND}, {"name": "A", "scene_list": S2}],
            "[1].name: 'a' is used by an earlier watch",
        ),
        (
            [{"name": "a", "scene_list": SUND}, {"name": "b", "scene_list": SUND}],
            "[1].scene_list.run_name: 'scoresby-sund-landsat' is used by an earlier watch",
        ),
        ([{"name": "a b", "scene_list": SUND}], "[0].name: 'a b' is not allowed"),
        ([{"name": "a", "scene_list": SUND, "every": "16d"}], "[0]: unknown field 'every'"),
        (
            [
                {
                    "name": "a",
                    "scene_list": {**SUND, "search": {**SUND["search"], "datetime": "2013-04-01/2014-01-01"}},
                }
            ],
            "[0].scene_list: search.datetime: '2013-04-01/2014-01-01' is not allowed in a watch",
        ),
        ([{"name": "a", "scene_list": "missing.json"}], "[0].scene_list: cannot read"),
        ({"name": "a"}, "is not allowed; allowed: a JSON list of"),
    ],
)
def test_bad_watches_are_one_line_settings_errors(tmp_path: Path, entries: Any, fragment: str) -> None:
    with pytest.raises(SettingsError) as err:
        PipelineSettings.from_mapping({"watches": watches_setting(tmp_path, entries)})
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_a_missing_watches_file_and_a_bad_quiet_setting_are_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="context watches: cannot read"):
        PipelineSettings.from_mapping({"watches": str(tmp_path / "nope.json")})
    with pytest.raises(
        SettingsError, match="watchQuietRounds: 'loud' is not allowed; allowed: silent, one-line"
    ):
        PipelineSettings.from_mapping({"watchQuietRounds": "loud"})
    assert PipelineSettings.from_mapping({}).watches == ()


def test_the_example_watches_file_deploys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    watches = PipelineSettings.from_mapping({"watches": "examples/deploy/watches.json"}).watches
    assert [(w.name, w.schedule) for w in watches] == [
        ("scoresby-sund-landsat", "rate(16 days)"),
        ("scoresby-sund-sentinel2", "cron(0 6 ? * MON *)"),
    ]
    assert watches[0].run_name == "scoresby-sund-watch"  # examples/watch-scoresby-sund.json, by path


def test_the_one_line_notice_of_a_quiet_round_as_moto_executes_it(
    synth: Synth, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The synthesized quiet branch (NothingNew? -> NotifyNothingNew -> NothingNewDone) run by moto's ASL."""
    import time

    import boto3
    from moto import mock_aws

    from tests.conftest import fake_aws_env

    fake_aws_env(monkeypatch, "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    top = state_machine_definition(synth)["States"]
    branch = {k: top[k] for k in ("NothingNew?", "NotifyNothingNew", "NothingNewDone")}
    branch["NothingNew?"] = {**branch["NothingNew?"], "Default": "NothingNewDone"}
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        topic = sns.create_topic(Name="t")["TopicArn"]
        queue = sqs.create_queue(QueueName="q")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        notify = branch["NotifyNothingNew"]
        branch["NotifyNothingNew"] = {
            **notify,
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {**notify["Parameters"], "TopicArn": topic},
        }
        role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        sfn = boto3.client("stepfunctions")
        machine = sfn.create_state_machine(
            name="quiet", definition=json.dumps({"StartAt": "NothingNew?", "States": branch}), roleArn=role
        )["stateMachineArn"]
        state = {
            "quiet": True,
            "run_name": "sund",
            "watch": {"round": 2, "since": "2026-11-27T14:47:41.847Z"},
        }
        arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(state))["executionArn"]
        while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
            time.sleep(0.1)
        assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
        [message] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        envelope = json.loads(message["Body"])
        assert envelope["Subject"] == "Scoresby watch sund: nothing new"
        assert (
            envelope["Message"] == "Scoresby watch sund round 2: nothing new since 2026-11-27T14:47:41.847Z."
        )
