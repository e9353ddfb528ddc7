"""The benchmark script runs, and its optimum check compares every method it ran."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "matching.py"


def test_benchmark_runs_a_tiny_size_and_checks_the_optimum():
    pytest.importorskip("ortools")
    done = subprocess.run(
        [sys.executable, str(BENCH), "--sizes", "30,10,5", "--repeat", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    rows = [line.split() for line in lines if line.strip().startswith("(30, 10, 5)")]
    assert [row[3] for row in rows] == ["networkx", "ortools", "naive"]
    # matched and score agree across the three methods, and something was matched
    assert len({(row[9], row[10]) for row in rows}) == 1
    assert int(rows[0][9]) > 0
    assert any("same optimum: yes (networkx, ortools, naive)" in line for line in lines)


def test_benchmark_rounds_are_fixed_by_their_seed():
    spec = importlib.util.spec_from_file_location("bench_matching", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    first = bench.make_round(20, 8, 5)
    assert first == bench.make_round(20, 8, 5)
    assert first != bench.make_round(20, 8, 5, seed=1)
