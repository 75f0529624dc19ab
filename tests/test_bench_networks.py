"""The networks benchmark runs end to end and prints one comparable line per network."""

from __future__ import annotations

import argparse

import pytest

from benchmarks import bench_networks
from syncdx import Limits

pytest.importorskip("pyagrum")


def test_the_table_runs_on_asia(capsys: pytest.CaptureFixture[str]) -> None:
    """On asia the table prints the header and one line with tree sizes (pyAgrum's 40 entries),
    both single-query ratios, the batch rate and its share of the bandwidth limit."""
    argv = ["--networks", "asia", "--queries", "3", "--rows", "20", "--repeat", "1"]
    assert bench_networks.main([*argv, "--budget", "0.2"]) == 0
    header, line = capsys.readouterr().out.splitlines()
    assert header.startswith("network")
    assert "limit" in header
    assert line.startswith("asia")
    cells = line.split("|")
    assert cells[1].split()[1:3] == ["40", "40"]  # triangulated and pyAgrum entries
    assert all(cell.strip().endswith("x") for cell in cells[2:])
    assert "%" in cells[4]


def test_a_network_syncdx_refuses_is_shown_with_the_reason() -> None:
    """A network over syncdx's limits gets a line that says why, not a crash."""
    args = argparse.Namespace(queries=3, rows=20, repeat=1, budget=0.2)
    row = bench_networks.measure("alarm", args, Limits(clique_entries=8))
    assert row.failed.startswith("syncdx refuses it: exact inference needs a table of")
    assert "syncdx refuses it" in bench_networks.line(row)
