"""The JSON Schema of sweep files: valid draft 2020-12, accepts the shipped examples, rejects
what the loader rejects structurally."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from experiments.jsonschema import SCHEMA_DIALECT, config_json_schema

jsonschema = pytest.importorskip("jsonschema")

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
SHIPPED = sorted(EXPERIMENTS.glob("*.toml"))


@pytest.fixture(scope="module")
def validator():
    schema = config_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_is_json_and_documents_fields():
    """Serialisable, right dialect, descriptions and enums taken from the attrs classes."""
    schema = json.loads(json.dumps(config_json_schema()))
    assert schema["$schema"] == SCHEMA_DIALECT
    venue = schema["properties"]["venue"]["properties"]
    assert "milliseconds" in venue["entry_latency_ms"]["description"]
    assert venue["queue_model"]["anyOf"][0]["enum"] == ["risk_averse", "prob_power", "prob_log"]
    kinds = [b["properties"]["kind"].get("const")
             for b in schema["properties"]["strategy"]["oneOf"]]
    assert {"glft", "fixed_spread"} <= set(kinds)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_examples_validate(validator, path):
    """Every experiments/*.toml is valid against the schema."""
    doc = tomllib.loads(path.read_text())
    errors = [e.message for e in validator.iter_errors(doc)]
    assert not errors, errors


def test_schema_accepts_sweeps_and_rejects_mistakes(validator, base_toml):
    """Values, lists, ranges and choices are accepted; unknown keys, bad enums, negative
    bounds, a glft key on fixed_spread and a random sweep without n_trials are not."""
    doc = tomllib.loads(base_toml)
    doc["strategy"]["gamma"] = {"low": 0.001, "high": 1.0, "log": True}
    doc["strategy"]["recalibrate_every"] = {"low": 1, "high": 9, "step": 2}
    doc["venue"]["queue_model"] = {"choice": ["risk_averse", "prob_log"]}
    doc["sweep"].update(method="random", n_trials=5)
    assert not list(validator.iter_errors(doc))

    def bad(mutate) -> None:
        d = tomllib.loads(base_toml)
        mutate(d)
        assert list(validator.iter_errors(d)), d

    bad(lambda d: d["venue"].update(latency=3))
    bad(lambda d: d["venue"].update(queue_model="fifo"))
    bad(lambda d: d["strategy"].update(gamma={"low": -1.0, "high": 1.0}))
    bad(lambda d: d["strategy"].update(gamma={"low": 0.1, "high": 1.0, "bogus": 1}))
    bad(lambda d: d["strategy"].update(recalibrate_every={"low": 1.5, "high": 3}))
    bad(lambda d: d["strategy"].update(kind="fixed_spread"))  # gamma is not a fixed_spread key
    bad(lambda d: d["sweep"].update(method="random"))
    bad(lambda d: d.update(stratgy={}))
    # a user strategy by dotted path accepts its own keys
    d = tomllib.loads(base_toml)
    d["strategy"].update(kind="my_mod:MyQuoter", anything=1)
    assert not list(validator.iter_errors(d))


def test_batch_size_in_schema_agrees_with_the_loader(validator, write_sweep, base_toml):
    """``[sweep] batch_size`` is in the schema (integer >= 1, documented) and the jsonschema
    library accepts exactly the values ``load_sweep`` accepts."""
    from experiments.config import ConfigError, load_sweep

    prop = config_json_schema()["properties"]["sweep"]["properties"]["batch_size"]
    assert prop["type"] == "integer" and prop["minimum"] == 1
    assert "one replay of the data" in prop["description"]
    for toml_value in ["1", "64", "0", "-1", '"auto"', "2.5", "true"]:
        body = base_toml.replace("seed = 3", f"seed = 3\nbatch_size = {toml_value}")
        doc = tomllib.loads(body)
        schema_ok = not list(validator.iter_errors(doc))
        try:
            load_sweep(write_sweep(body))
            loader_ok = True
        except ConfigError:
            loader_ok = False
        assert schema_ok == loader_ok == (toml_value in ("1", "64")), toml_value
