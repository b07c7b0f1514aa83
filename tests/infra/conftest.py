"""Synthesis helpers for the infra tests: app.py's app into a temporary cdk.out, once per test module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.cfn import marks, resolve

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK = "Scoresby"


@dataclass(frozen=True)
class Synth:
    """A synthesized cloud assembly: its folder and the stack template."""

    outdir: Path
    template: dict[str, Any]

    def resources(self, type_name: str) -> dict[str, dict[str, Any]]:
        """Logical id -> resource, for one CloudFormation type."""
        return {k: r for k, r in self.template["Resources"].items() if r["Type"] == type_name}

    def only(self, type_name: str, name_contains: str = "") -> dict[str, Any]:
        """The one resource of a type (whose logical id contains `name_contains`)."""
        found = [r for k, r in self.resources(type_name).items() if name_contains in k]
        assert len(found) == 1, f"expected one {type_name} matching {name_contains!r}, found {len(found)}"
        return found[0]

    def asset_dirs(self) -> list[Path]:
        """The staged asset folders in cdk.out."""
        return sorted(p for p in self.outdir.glob("asset.*") if p.is_dir())


def synthesize(outdir: Path, context: dict[str, Any] | None = None) -> Synth:
    """Build app.py's app with `context` and synthesize it (cdk-nag runs and fails synthesis on findings)."""
    from aws_cdk import App

    import app as cdk_app

    cdk_app.build_app(App(outdir=str(outdir), context=context or {})).synth()
    template = json.loads((outdir / f"{STACK}.template.json").read_text())
    return Synth(outdir, template)


def join_to_text(value: Any) -> str:
    """Resolve a template string (Fn::Join of text and references) to text with <Ref>/<Id.Attr> marks."""
    text = resolve(value, marks, symbolic=True)
    assert isinstance(text, str), f"unexpected template value {value!r}"
    return text


def state_machine_definition(synth: Synth) -> dict[str, Any]:
    """The state machine's Amazon States Language definition as a dict."""
    sm = synth.only("AWS::StepFunctions::StateMachine")
    return json.loads(join_to_text(sm["Properties"]["DefinitionString"]))


def all_states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state by name, including those inside Map item processors."""
    found: dict[str, dict[str, Any]] = {}
    for name, state in definition["States"].items():
        found[name] = state
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            found.update(all_states(processor))
    return found


def policy_statements(synth: Synth, role_fragment: str) -> list[dict[str, Any]]:
    """Every statement of the inline policies attached to the role whose logical id contains the fragment."""
    roles = [k for k in synth.resources("AWS::IAM::Role") if role_fragment in k]
    assert len(roles) == 1, f"roles matching {role_fragment!r}: {roles}"
    statements = []
    for policy in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": roles[0]} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def as_list(value: Any) -> list[Any]:
    """A policy field that may be a single value or a list."""
    return value if isinstance(value, list) else [value]


def run_cfn_lint(synth: Synth) -> subprocess.CompletedProcess[str]:
    """cfn-lint on the synthesized template, ignoring only W3005 (CDK's own redundant DependsOn)."""
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    return subprocess.run(
        [str(cfn_lint), "--ignore-checks", "W3005", "--", str(synth.outdir / "Scoresby.template.json")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
