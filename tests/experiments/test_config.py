"""Sweep files: grid expansion, stable trial ids and seeds, and every kind of bad input."""

from __future__ import annotations

import itertools
import json
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from experiments.config import ConfigError, derive_seed, load_sweep, trial_id_for


def _problems(path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    assert info.value.problems, "a ConfigError must carry at least one problem"
    for line in str(info.value).splitlines():
        assert line.startswith(f"{path}: "), line
    return list(info.value.problems)


def test_grid_is_the_cartesian_product(write_sweep, base_toml):
    """Scalar fields given as lists are axes; the grid is their product, first axis slowest."""
    spec = load_sweep(write_sweep(base_toml))
    assert [(a.section, a.key) for a in spec.axes] == [
        ("venue", "queue_model"), ("strategy", "gamma"),
    ]
    got = [(t.venue.queue_model, t.strategy.gamma) for t in spec.trials]
    assert got == list(itertools.product(["risk_averse", "prob_power"], [0.01, 0.1, 1.0]))
    assert [t.index for t in spec.trials] == list(range(6))
    assert spec.trials[0].params["gamma"] == 0.01
    assert spec.trials[0].params["queue_model"] == "risk_averse"
    assert spec.trials[0].params["strategy_kind"] == "glft"
    assert spec.columns["gamma"] == "DOUBLE" and spec.columns["queue_model"] == "VARCHAR"


def test_list_typed_fields_are_not_axes(write_sweep, base_toml):
    """``data.paths`` is a list field: a value, never an axis; paths resolve beside the TOML."""
    path = write_sweep(base_toml)
    spec = load_sweep(path)
    assert all(a.section != "data" for a in spec.axes)
    assert spec.data.paths == (str(path.parent / "a.gz"), str(path.parent / "b.gz"))


def test_replicates_multiply_trials_with_distinct_seeds(write_sweep, base_toml):
    """Each grid point runs ``replicates`` times, each with its own id and seed."""
    spec = load_sweep(write_sweep(base_toml.replace('seed = 3', 'seed = 3\nreplicates = 3')))
    assert len(spec.trials) == 18
    assert len({t.trial_id for t in spec.trials}) == 18
    assert len({t.seed for t in spec.trials}) == 18
    assert [t.replicate for t in spec.trials[:3]] == [0, 1, 2]


def test_trial_ids_and_seeds_do_not_depend_on_order(write_sweep, base_toml):
    """Reordering axis values or keys changes the grid order but not any trial's id or seed."""
    a = load_sweep(write_sweep(base_toml, "a.toml"))
    reordered = (
        base_toml.replace('["risk_averse", "prob_power"]', '["prob_power", "risk_averse"]')
        .replace("[0.01, 0.1, 1.0]", "[1.0, 0.01, 0.1]")
        .replace('profile = "binance_usdm"\n', "")
        .replace("[venue]\n", '[venue]\nprofile = "binance_usdm"\n')
    )
    b = load_sweep(write_sweep(reordered, "b.toml"))
    key = {(t.venue.queue_model, t.strategy.gamma): (t.trial_id, t.seed) for t in a.trials}
    assert key == {(t.venue.queue_model, t.strategy.gamma): (t.trial_id, t.seed)
                   for t in b.trials}
    assert [t.trial_id for t in a.trials] != [t.trial_id for t in b.trials]


def test_defaults_and_explicit_values_give_the_same_trial(write_sweep, base_toml):
    """A trial id hashes the resolved parameters: spelling out a default changes nothing."""
    a = load_sweep(write_sweep(base_toml, "a.toml"))
    b = load_sweep(write_sweep(base_toml.replace('kind = "glft"', 'kind = "glft"\nxi = 0.5')
                               .replace("xi = 0.5", "window_s = 60.0"), "b.toml"))
    assert [t.trial_id for t in a.trials] == [t.trial_id for t in b.trials]


def test_seed_depends_on_root_seed_and_trial_id_only():
    """The seed is a pure function of (root seed, trial id), in [0, 2**63)."""
    tid = trial_id_for({"strategy": {"gamma": 0.1}}, 0)
    assert len(tid) == 16 and int(tid, 16) >= 0
    assert tid == trial_id_for({"strategy": {"gamma": 0.1}}, 0)
    assert tid != trial_id_for({"strategy": {"gamma": 0.1}}, 1)
    s = derive_seed(7, tid)
    assert s == derive_seed(7, tid)
    assert s != derive_seed(8, tid)
    assert 0 <= s < 2**63


def test_user_strategy_by_dotted_path(write_sweep, base_toml):
    """``kind = "module:Class"`` imports a user subclass from beside the sweep file."""
    spec = load_sweep(write_sweep(base_toml.replace('"glft"', '"mm_test_plugins:ExplodingQuoter"')))
    assert spec.strategy_path == "mm_test_plugins:ExplodingQuoter"
    assert spec.strategy_cls.__name__ == "ExplodingQuoter"
    assert type(spec.trials[0].strategy).__name__ == "GLFTConfig"


def test_malformed_toml_names_line_and_column(write_sweep):
    """A TOML syntax error is reported with its line and column."""
    (problem,) = _problems(write_sweep("[sweep]\nname = \n"))
    assert "invalid TOML" in problem and "line 2" in problem and "column" in problem


def test_unknown_keys_are_named_with_their_path(write_sweep, base_toml):
    """Unknown keys and tables are each named by key path, with a suggestion."""
    body = base_toml.replace("gamma = [", "gama = 1.0\ngamma = [").replace(
        'profile = "binance_usdm"', 'profile = "binance_usdm"\nlatency = 3'
    ) + "\n[stratgy]\nx = 1\n"
    problems = _problems(write_sweep(body))
    assert any(p.startswith("strategy.gama: unknown key (did you mean 'gamma'?)") for p in problems)
    assert any(p.startswith("venue.latency: unknown key") for p in problems)
    assert any(p.startswith("stratgy: unknown table") for p in problems)


def test_wrong_types_are_rejected_not_coerced(write_sweep, base_toml):
    """Strings for numbers, floats for ints and booleans for numbers are errors."""
    body = base_toml.replace("seed = 3", 'seed = "3"').replace(
        "kind = \"glft\"", 'kind = "glft"\nrecalibrate_every = 2.5\norder_qty = true'
    )
    problems = _problems(write_sweep(body))
    assert "sweep.seed: expected an integer, got string '3'" in problems
    assert "strategy.recalibrate_every: expected an integer, got number 2.5" in problems
    assert "strategy.order_qty: expected a number, got boolean True" in problems


def test_out_of_range_axis_value_names_its_index(write_sweep, base_toml):
    """A validator failure on one axis value names the axis index and the value."""
    problems = _problems(write_sweep(base_toml.replace("[0.01, 0.1, 1.0]", "[0.01, 0.1, -0.1]")))
    assert len(problems) == 1
    assert problems[0] == "strategy.gamma[2]: must be > 0: -0.1"  # the value once, at the end
    assert "> 0" in problems[0]


def test_out_of_range_scalar_and_choice(write_sweep, base_toml):
    """Validator failures on scalars name the key; bad choices list the options."""
    body = base_toml.replace('queue_model = ["risk_averse", "prob_power"]',
                             'queue_model = "fifo"\nentry_latency_ms = -1.0')
    problems = _problems(write_sweep(body))
    assert any(p.startswith("venue.queue_model: must be in") and "fifo" in p for p in problems)
    assert any(p.startswith("venue.entry_latency_ms: must be >= 0") for p in problems)


def test_missing_data_file_is_named(write_sweep, base_toml):
    """A data file that does not exist is named by its index and resolved path."""
    problems = _problems(write_sweep(base_toml.replace('"b.gz"', '"nope/missing.gz"')))
    assert len(problems) == 1
    assert problems[0].startswith("data.paths[1]: data file not found: nope/missing.gz")


def test_unknown_strategy_kind(write_sweep, base_toml):
    """An unknown short kind, an unimportable module and a class without config_class fail."""
    for kind, needle in [
        ("glfft", "unknown strategy kind 'glfft' (did you mean 'glft'?)"),
        ("no_such_module_xyz:Q", "cannot import module 'no_such_module_xyz'"),
        ("mm_test_plugins:Nope", "has no attribute 'Nope'"),
        ("mm_test_plugins:NotAStrategy", "needs a class attribute 'config_class'"),
    ]:
        problems = _problems(write_sweep(base_toml.replace('"glft"', f'"{kind}"')))
        assert len(problems) == 1 and problems[0].startswith("strategy.kind: "), problems
        assert needle in problems[0]


def test_data_cannot_be_swept_and_empty_axes_fail(write_sweep, base_toml):
    """A list on a scalar [data] field and an empty axis are errors, not silent no-ops."""
    body = base_toml.replace('format = "binance_ws"', 'format = ["binance_ws", "hftbacktest_npz"]')
    (problem,) = _problems(write_sweep(body))
    assert problem.startswith("data.format: a list here would sweep data sets")
    (problem,) = _problems(write_sweep(base_toml.replace("[0.01, 0.1, 1.0]", "[]")))
    assert problem == "strategy.gamma: an axis needs at least one value"


def test_duplicate_axis_values_are_rejected(write_sweep, base_toml):
    """Two grid points with identical parameters would be one trial twice: an error."""
    (problem,) = _problems(write_sweep(base_toml.replace("[0.01, 0.1, 1.0]", "[0.1, 0.1]")))
    assert "identical parameters" in problem


def test_all_problems_reported_at_once(write_sweep, base_toml):
    """Problems in different tables are collected, not stopped at the first."""
    body = base_toml.replace("seed = 3", "seed = -1").replace('"b.gz"', '"missing.gz"').replace(
        "[0.01, 0.1, 1.0]", '[0.01, "x"]'
    )
    problems = _problems(write_sweep(body))
    assert any(p.startswith("sweep.seed") for p in problems)
    assert any(p.startswith("data.paths[1]") for p in problems)
    assert any(p.startswith("strategy.gamma[1]: 'x': expected a number") for p in problems)


@given(
    gammas=st.lists(st.floats(1e-4, 10.0, allow_nan=False), min_size=1, max_size=6, unique=True),
    models=st.lists(st.sampled_from(["risk_averse", "prob_power", "prob_log"]), min_size=1,
                    max_size=3, unique=True),
    replicates=st.integers(1, 3),
)
def test_grid_size_and_unique_ids_property(gammas, models, replicates):
    """For any axes: |trials| = product of axis lengths x replicates; ids and seeds unique;
    every (queue_model, gamma) pair appears exactly ``replicates`` times."""
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "a.gz").write_bytes(b"")
        path = Path(d) / "s.toml"
        path.write_text(
            f"[sweep]\nname = \"p\"\nreplicates = {replicates}\n"
            "[data]\nformat = \"binance_ws\"\npaths = [\"a.gz\"]\n"
            f"[venue]\nqueue_model = {json.dumps(models)}\n"
            f"[strategy]\nkind = \"glft\"\ngamma = {json.dumps(gammas)}\n"
        )
        spec = load_sweep(path)
    assert len(spec.trials) == len(gammas) * len(models) * replicates
    assert len({t.trial_id for t in spec.trials}) == len(spec.trials)
    assert len({t.seed for t in spec.trials}) == len(spec.trials)
    pairs = Counter((t.venue.queue_model, t.strategy.gamma) for t in spec.trials)
    assert set(pairs.values()) == {replicates}
    assert set(pairs) == set(itertools.product(models, gammas))


# --------------------------------------------------------------------------------------------
# Ranges, choices and search methods
# --------------------------------------------------------------------------------------------


def test_step_range_and_choice_expand_like_lists(write_sweep, base_toml):
    """A step range is its inclusive decimal points; a choice is a list; ints stay ints."""
    body = base_toml.replace("[0.01, 0.1, 1.0]", "{ low = 0.01, high = 0.05, step = 0.01 }") \
        .replace('["risk_averse", "prob_power"]', '{ choice = ["risk_averse", "prob_power"] }') \
        .replace('kind = "glft"', 'kind = "glft"\nrecalibrate_every = { low = 2, high = 7, step = 5 }')
    spec = load_sweep(write_sweep(body))
    gammas = sorted({t.strategy.gamma for t in spec.trials})
    assert gammas == [0.01, 0.02, 0.03, 0.04, 0.05]
    assert {t.strategy.recalibrate_every for t in spec.trials} == {2, 7}
    assert all(type(t.params["recalibrate_every"]) is int for t in spec.trials)
    assert len(spec.trials) == 2 * 5 * 2 == spec.total
    assert [a.kind for a in spec.axes] == ["choice", "range", "range"]
    listed = load_sweep(write_sweep(base_toml.replace("[0.01, 0.1, 1.0]",
                                                      "[0.01, 0.02, 0.03, 0.04, 0.05]"), "l.toml"))
    same = {t.trial_id for t in spec.trials if t.strategy.recalibrate_every == 10}
    assert same <= {t.trial_id for t in listed.trials}


def test_log_range_with_n_is_a_log_spaced_grid(write_sweep, base_toml):
    """``{ low, high, log = true, n = K }`` gives K log-spaced points, endpoints exact."""
    spec = load_sweep(write_sweep(base_toml.replace(
        "[0.01, 0.1, 1.0]", "{ low = 0.001, high = 1.0, log = true, n = 4 }")))
    gammas = sorted({t.strategy.gamma for t in spec.trials})
    assert gammas[0] == 0.001 and gammas[-1] == 1.0 and len(gammas) == 4
    assert gammas[1] == pytest.approx(0.01) and gammas[2] == pytest.approx(0.1)


def test_range_errors_name_their_key_path(write_sweep, base_toml):
    """Bad ranges: reversed bounds, unknown keys, wrong types, validator failures on a bound,
    a continuous range in a grid, step with log."""
    body = base_toml.replace("[0.01, 0.1, 1.0]", "{ low = 1.0, high = 0.5 }").replace(
        'kind = "glft"',
        'kind = "glft"\n'
        'order_qty = { low = 0.0, high = 1.0, step = 0.5 }\n'
        'window_s = { low = 1.0, high = 2.0, sep = 0.1 }\n'
        'recalibrate_every = { low = 1.5, high = 3 }\n'
        'warmup_s = { low = 1.0, high = 5.0 }\n'
        'max_position = { low = 0.1, high = 1.0, step = 0.1, log = true }\n'
        'interval_ms = { choice = [] }\n',
    )
    problems = _problems(write_sweep(body))
    assert "strategy.gamma: low 1.0 must be < high 0.5" in problems
    assert any(p.startswith("strategy.order_qty.low: must be > 0: 0.0") for p in problems)
    assert any(p.startswith("strategy.window_s.sep: unknown range key (did you mean 'step'?)")
               for p in problems)
    assert "strategy.recalibrate_every.low: expected an integer, got number 1.5" in problems
    assert any(p.startswith("strategy.warmup_s: a continuous range cannot be a grid axis")
               for p in problems)
    assert any(p.startswith("strategy.max_position: step and log cannot be combined")
               for p in problems)
    assert "strategy.interval_ms.choice: needs at least one value" in problems


def test_bad_choice_value_and_string_range(write_sweep, base_toml):
    """A choice value is checked against the field's validator; a range needs a number."""
    body = base_toml.replace('["risk_averse", "prob_power"]',
                             '{ choice = ["risk_averse", "fifo"] }')
    problems = _problems(write_sweep(body))
    assert any(p.startswith("venue.queue_model.choice[1]: 'fifo': must be in") for p in problems)
    body = base_toml.replace('["risk_averse", "prob_power"]', "{ low = 1, high = 2 }")
    problems = _problems(write_sweep(body))
    assert any(p.startswith("venue.queue_model: a range needs a numeric field") for p in problems)


def test_method_settings_are_checked(write_sweep, base_toml):
    """random/bayes need n_trials; grid refuses it; a small discrete space caps n_trials."""
    problems = _problems(write_sweep(base_toml.replace("seed = 3", 'seed = 3\nmethod = "random"')))
    assert any(p.startswith("sweep.n_trials: required for method = \"random\"") for p in problems)
    problems = _problems(write_sweep(base_toml.replace("seed = 3", "seed = 3\nn_trials = 4")))
    assert any(p.startswith("sweep.n_trials: only used by") for p in problems)
    problems = _problems(write_sweep(base_toml.replace(
        "seed = 3", 'seed = 3\nmethod = "bayes"\nn_trials = 7')))
    assert any("more than the 6 distinct parameter point(s)" in p for p in problems)
    problems = _problems(write_sweep(base_toml.replace("seed = 3", 'seed = 3\nmethod = "best"')))
    assert any(p.startswith("sweep.method: must be in") for p in problems)


def test_random_sweep_is_reproducible_and_deduplicated(write_sweep, base_toml):
    """Random draws depend on the root seed only (not on key order); all-discrete spaces never
    repeat a point; the trial ids and seeds are those of the same point in a grid."""
    body = base_toml.replace("seed = 3", 'seed = 3\nmethod = "random"\nn_trials = 6')
    a = load_sweep(write_sweep(body, "a.toml"))
    assert len(a.trials) == 6 == a.total
    assert len({t.trial_id for t in a.trials}) == 6  # the whole 2 x 3 space, no repeats
    grid = load_sweep(write_sweep(base_toml, "g.toml"))
    assert {t.trial_id: t.seed for t in a.trials} == {t.trial_id: t.seed for t in grid.trials}

    cont = body.replace("[0.01, 0.1, 1.0]", "{ low = 0.001, high = 1.0, log = true }")
    b1 = load_sweep(write_sweep(cont, "b1.toml"))
    moved = cont.replace('profile = "binance_usdm"\n', "").replace(
        "[venue]\n", '[venue]\nprofile = "binance_usdm"\n')
    b2 = load_sweep(write_sweep(moved, "b2.toml"))
    assert [t.trial_id for t in b1.trials] == [t.trial_id for t in b2.trials]
    assert all(0.001 <= t.strategy.gamma <= 1.0 for t in b1.trials)
    assert [t.index for t in b1.trials] == list(range(6))
    b3 = load_sweep(write_sweep(cont.replace("seed = 3", "seed = 4"), "b3.toml"))
    assert [t.strategy.gamma for t in b3.trials] != [t.strategy.gamma for t in b1.trials]


def test_bayes_spec_has_no_precomputed_trials(write_sweep, base_toml):
    """A bayes sweep validates without a study; trials come from experiments.search."""
    body = base_toml.replace("seed = 3", 'seed = 3\nmethod = "bayes"\nn_trials = 5\n'
                             'direction = "minimize"\nreplicates = 2').replace(
        "[0.01, 0.1, 1.0]", "{ low = 0.001, high = 1.0, log = true }")
    spec = load_sweep(write_sweep(body))
    assert spec.trials == () and spec.total == 10 and spec.sweep.direction == "minimize"


def test_round_trip_unstructure_structure(write_sweep, base_toml):
    """TOML → spec → dict → spec gives equal venue and strategy configs."""
    from experiments.config import converter

    spec = load_sweep(write_sweep(base_toml))
    for t in spec.trials:
        for obj in (t.venue, t.strategy):
            raw = converter.unstructure(obj)
            assert json.loads(json.dumps(raw)) == raw
            assert converter.structure(raw, type(obj)) == obj
    assert converter.structure(converter.unstructure(spec.sweep), type(spec.sweep)) == spec.sweep
    assert converter.structure(converter.unstructure(spec.data), type(spec.data)) == spec.data


def test_venue_kind_dotted_path_plugs_in_a_user_venue(write_sweep, base_toml, tmp_path):
    """`[venue] kind = "module:Class"` names a user venue subclass; a bad path is a key error."""
    import pytest as _pytest

    from experiments.config import ConfigError, load_sweep
    from venues.orderbook.venue import venue_class

    plugin = 'profile = "binance_usdm"\nkind = "mm_test_plugins:WideMakerFeeVenue"'
    body = base_toml.replace('profile = "binance_usdm"', plugin)
    spec = load_sweep(write_sweep(body), check_files=False)
    assert {t.venue.kind for t in spec.trials} == {"mm_test_plugins:WideMakerFeeVenue"}
    assert venue_class(spec.trials[0].venue.kind).__name__ == "WideMakerFeeVenue"
    bad = base_toml.replace('profile = "binance_usdm"', plugin.replace("WideMakerFeeVenue", "Nope"))
    with _pytest.raises(ConfigError) as err:
        load_sweep(write_sweep(bad, name="bad.toml"), check_files=False)
    assert "venue.kind: cannot import venue 'mm_test_plugins:Nope'" in str(err.value)


# Every top-level name of the former single module experiments/config.py (issue 14, item 16).
_CONFIG_NAMES = (
    "SECTIONS", "GRID_SECTIONS", "OPTIONAL_SECTIONS", "_optional_section_class", "METHODS",
    "DIRECTIONS", "RANGE_KEYS", "RANDOM_TAG", "MAX_RANDOM_REDRAWS", "RESERVED_COLUMNS",
    "ConfigError", "_WrongTypeError", "_describe", "_structure_float", "_structure_int",
    "_structure_str", "_structure_bool", "_make_converter", "converter", "_DURATION_UNITS",
    "parse_duration_ns", "_duration", "SweepSection", "Range", "Axis", "TrialSpec", "SweepSpec",
    "_field_types", "_strip_optional", "_is_sequence_type", "_sql_type", "_canonical_json",
    "trial_id_for", "derive_seed", "resolve_strategy", "_data_config_class",
    "_venue_config_class", "_ATTRS_FIELD_RE", "_axis_problem", "_exception_messages",
    "_check_keys", "_structure", "load_sweep", "load_sweep_text", "MAX_TRIALS",
    "_planned_trials", "_non_finite", "_check_method", "_space_size", "_hashable", "_sweepable",
    "_MAX_GRID_POINTS", "_parse_sweep_table", "_load_data", "_param_columns", "_key_of",
    "_representative", "random_points", "_PointResolver", "make_point_trials", "_expand",
)


def test_config_package_keeps_every_name_in_one_place():
    """After the split into experiments/config/, every name the single module defined still
    imports from ``experiments.config``, and each function or class is defined once, in the
    submodule that re-exports it (moved, not copied)."""
    import importlib
    import inspect
    import pkgutil

    import experiments.config as config

    missing = [n for n in _CONFIG_NAMES if not hasattr(config, n)]
    assert not missing, missing
    defined: dict[str, list[str]] = {}
    for info in pkgutil.iter_modules(config.__path__, prefix="experiments.config."):
        mod = importlib.import_module(info.name)
        for name, obj in vars(mod).items():
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == mod.__name__:
                defined.setdefault(name, []).append(mod.__name__)
    twice = {n: m for n, m in defined.items() if len(m) > 1}
    assert not twice, twice
    for name in _CONFIG_NAMES:
        obj = getattr(config, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert defined.get(name) == [obj.__module__], name


def test_batch_size_is_a_positive_integer_or_absent(write_sweep, base_toml):
    """``[sweep] batch_size`` (issue 13): absent means None (chosen automatically), a positive
    integer is kept, anything else is one error naming the key; it never changes trial ids."""
    plain = load_sweep(write_sweep(base_toml))
    assert plain.sweep.batch_size is None
    batched = load_sweep(write_sweep(base_toml.replace("seed = 3", "seed = 3\nbatch_size = 16"),
                                     name="b.toml"))
    assert batched.sweep.batch_size == 16
    assert [t.trial_id for t in batched.trials] == [t.trial_id for t in plain.trials]
    assert [t.seed for t in batched.trials] == [t.seed for t in plain.trials]
    for value, message in [
        ("0", "sweep.batch_size: must be >= 1: 0"),
        ("-4", "sweep.batch_size: must be >= 1: -4"),
        ('"auto"', "sweep.batch_size: expected an integer, got string 'auto'"),
        ("2.5", "sweep.batch_size: expected an integer, got number 2.5"),
        ("true", "sweep.batch_size: expected an integer, got boolean True"),
    ]:
        body = base_toml.replace("seed = 3", f"seed = 3\nbatch_size = {value}")
        assert _problems(write_sweep(body, name="bad.toml")) == [message]
