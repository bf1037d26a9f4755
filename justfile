# mmsim task runner (https://just.systems). `just` lists the recipes.

set shell := ["bash", "-euo", "pipefail", "-c"]

# list recipes
default:
    @just --list

# run every trial of a sweep file into DuckDB (e.g. `just sweep experiments/gamma.toml --workers 2`)
sweep FILE *ARGS:
    mmsim sweep {{FILE}} {{ARGS}}

# run one trial of a sweep file in-process and print its metrics (`--trial N` picks the grid point)
run FILE *ARGS:
    mmsim run {{FILE}} {{ARGS}}

# check a sweep file and its data files without running anything
validate FILE:
    mmsim validate {{FILE}}

# the whole test suite with line coverage (what CI runs); without ARGS it fails under 90 %
test *ARGS:
    python -m pytest --cov --cov-report= {{ARGS}}
    # the compiled kernels once more as plain Python (their coverage, readable tracebacks)
    NUMBA_DISABLE_JIT=1 python -m pytest -q --cov --cov-append --cov-report= {{NOJIT_TESTS}}
    if [ -z "{{ARGS}}" ]; then coverage report --fail-under=90; else coverage report; fi

# tests that exercise every Numba kernel (orderbook, queue, GLFT fit, AMM math, bars, features, labels)
NOJIT_TESTS := "tests/venues/orderbook tests/components/test_performance.py tests/components/test_equity_curve.py tests/strategies/test_glft_fit.py tests/venues/amm tests/signals/test_bars.py tests/signals/test_features.py tests/signals/test_labels.py"

# static checks: ruff on everything, mypy (strict) on the public API ([tool.mypy] in pyproject.toml)
check:
    ruff check .
    mypy

# quick loop: fewer hypothesis examples, tests marked slow skipped
test-fast *ARGS:
    HYPOTHESIS_PROFILE=fast python -m pytest -m "not slow" {{ARGS}}

# property tests with the CI profile (derandomized, reproducible)
prop *ARGS:
    HYPOTHESIS_PROFILE=ci python -m pytest {{ARGS}}

# benchmarks (JSON on stdout): replay throughput, then sweep wall time and peak memory
bench:
    python bench/bench_replay.py
    python bench/bench_sweep.py

# fill-for-fill cross-validation against hftbacktest 2.4.4 (dev extra): both data sets, three
# queue models, aligned and default modes; JSON on stdout, exit 1 if an aligned run misses target
crossval *ARGS:
    python bench/crossval_hftbacktest.py --json --check {{ARGS}}

# HTML report of a sweep (e.g. `just report results/gamma.duckdb results/gamma-report`)
report RESULTS DIR *ARGS:
    mmsim report {{RESULTS}} --out {{DIR}} {{ARGS}}

# the documentation site (docs/ + mkdocs.yml; reference page generated from the config schema)
docs *ARGS:
    mkdocs build --strict {{ARGS}}

