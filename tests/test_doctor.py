"""`assistant doctor`: a report of the installation, one problem line each, no secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import doctor
from assistant.cli import app as cli


def _by_name(checks: list[doctor.Check]) -> dict[str, doctor.Check]:
    return {c.name: c for c in checks}


def test_report_has_every_section(monkeypatch: pytest.MonkeyPatch) -> None:
    checks = _by_name(doctor.diagnose())
    for name in ("python", "platform", "backend", "endpoint", "cpu features", "embedded runtime",
                 "threads", "model file", "spaCy", "HTML extraction", "token counting", "extras",
                 "cache dir"):
        assert name in checks, name


def test_api_key_is_never_shown(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-doctor-secret-123")
    monkeypatch.setenv("ASSISTANT_BASE_URL", "http://127.0.0.1:9/v1")
    cli.main(["doctor"])
    cli.main(["doctor", "--format", "json"])
    out = capsys.readouterr().out
    assert "sk-doctor-secret-123" not in out
    assert "API key set" in out and "http://127.0.0.1:9/v1" in out


def test_missing_model_override_is_a_problem_and_exit_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ASSISTANT_MODEL_PATH", str(tmp_path / "nope.gguf"))
    assert cli.main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "problem: model file: ASSISTANT_MODEL_PATH names no file" in out


def test_wrong_size_model_is_a_problem(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("ASSISTANT_MODEL_PATH", raising=False)
    target = doctor.model_files.default_model_path()
    target.parent.mkdir(parents=True)
    target.write_bytes(b"GGUF" + b"\0" * 100)
    check = _by_name(doctor.diagnose())["model file"]
    assert check.problem and "expected 1,117,320,768" in check.problem


def test_cpu_without_avx2_is_a_problem_for_the_embedded_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "cpu_flags", lambda: {"sse4_2", "fpu"})
    monkeypatch.setattr(doctor.platform, "machine", lambda: "x86_64")
    check = _by_name(doctor.diagnose())["cpu features"]
    assert check.problem and "AVX2" in check.problem
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # not needed then
    assert _by_name(doctor.diagnose())["cpu features"].problem is None


def test_amx_cpu_is_reported_as_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "cpu_flags", lambda: {"avx2", "avx512f", "amx_tile", "amx_int8"})
    check = _by_name(doctor.diagnose())["cpu features"]
    assert "amx_int8" in check.value and "no AMX kernels" in check.value and check.problem is None


def test_missing_runtime_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    real = doctor._version
    monkeypatch.setattr(doctor, "_version", lambda d: None if d == "xllamacpp" else real(d))
    check = _by_name(doctor.diagnose())["embedded runtime"]
    assert check.problem and "[embedded]" in check.problem


def test_invalid_setting_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_TIMEOUT", "soon")
    check = _by_name(doctor.diagnose())["settings"]
    assert check.problem and "ASSISTANT_TIMEOUT" in check.problem


def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["doctor", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert {"name", "value", "problem"} <= set(data[0])
