"""Offline evals: suites with gold annotations, honest scorers, record/replay, reports.

    from evals import load_suite, run_suite, CassetteBackend
    run = run_suite(load_suite("fixtures"), CassetteBackend(None, default_path("fixtures")))
    print(format_table(run))

The command line is `assistant eval` (`assistant/commands/eval.py`).
"""

from assistant.evals.cassette import CassetteBackend, CassetteMiss, Miss, default_path
from assistant.evals.compare import Comparison, compare_runs, format_comparison
from assistant.evals.gate import GateFailure, check_gate, load_thresholds
from assistant.evals.report import format_table, render_html, write_run
from assistant.evals.results import ItemScore, MetricResult, RunResult, aggregate, load_results
from assistant.evals.runner import run_suite
from assistant.evals.suites import SUITES, Suite, SuiteUnavailable, load_suite

__all__ = [
    "SUITES",
    "CassetteBackend",
    "CassetteMiss",
    "Comparison",
    "GateFailure",
    "ItemScore",
    "MetricResult",
    "Miss",
    "RunResult",
    "Suite",
    "SuiteUnavailable",
    "aggregate",
    "check_gate",
    "compare_runs",
    "default_path",
    "format_comparison",
    "format_table",
    "load_results",
    "load_suite",
    "load_thresholds",
    "render_html",
    "run_suite",
    "write_run",
]
