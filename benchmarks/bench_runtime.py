"""Compare embedded llama.cpp runtimes on this machine, in one run.

For each runtime (`xllamacpp`, the prebuilt wheel the project uses, and
`llama-cpp-python`, compiled from its sdist) this prints:

- install time into a fresh venv with an empty pip cache (`--install`; the
  llama-cpp-python compile takes minutes on 2 cores, so it is off by default and
  already-built venvs under `--venvs` are reused);
- model load time, cold prompt tokens/s on the seed article (~1,100 tokens), free
  generation tokens/s, JSON-schema constrained generation tokens/s, and the peak RSS of
  the measuring process.

Each runtime is measured in its own child process (one model per process; the children
run one after another so they never share the 2 cores).

    .venv/bin/python benchmarks/bench_runtime.py [--install] [--venvs DIR] [--threads N]

The seed-article `analyze` wall time on the chosen runtime comes from
`benchmarks/bench_analyze.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "data" / "seed" / "us-russia-ukraine-2022-01-14.txt"
FALLBACK = ROOT / "assistant" / "examples" / "harbor-bridge-closure.txt"
PACKAGES = {
    "xllamacpp": ["xllamacpp==2026.10.11549"],
    "llama-cpp-python": ["llama-cpp-python==0.3.36"],
}
SCHEMA = {
    "type": "object",
    "properties": {
        "headline": {"type": "string", "maxLength": 200},
        "sentence_ids": {"type": "array", "items": {"type": "integer"}, "maxItems": 8},
    },
    "required": ["headline", "sentence_ids"],
}
GEN_TOKENS = 96


def _prompt(article: str, ask: str) -> str:
    return (f"<|im_start|>system\nYou are a careful news editor.<|im_end|>\n"
            f"<|im_start|>user\n{article}\n\n{ask}<|im_end|>\n<|im_start|>assistant\n")


# --- children: one runtime each --------------------------------------------------------

def _child_xllamacpp(model: str, threads: int, article: str) -> dict[str, float]:
    import xllamacpp as x

    params = x.CommonParams()
    params.model.path = model
    params.n_ctx = 4096
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.warmup = False
    started = time.perf_counter()
    server = x.Server(params)
    load = time.perf_counter() - started

    def run(prompt: str, n: int, **extra: object) -> tuple[int, float, int, float]:
        out = server.handle_completions({"prompt": prompt, "max_tokens": n, "temperature": 0,
                                         "cache_prompt": True, **extra})
        t = out["timings"]
        return (t["prompt_n"], t["prompt_ms"] / 1000, t["predicted_n"], t["predicted_ms"] / 1000)

    pn, ps, _, _ = run(_prompt(article, "Summarize the article in one sentence."), 1)
    _, _, gn, gs = run(_prompt(article, "Retell the article in detail."), GEN_TOKENS,
                       ignore_eos=True)
    _, _, cn, cs = run(_prompt(article, "Give a headline and the ids of key sentences as JSON."),
                       GEN_TOKENS, json_schema=SCHEMA)
    return {"load_s": load, "prompt_tokens": pn, "prompt_tok_s": pn / ps,
            "gen_tokens": gn, "gen_tok_s": gn / gs, "constrained_tokens": cn,
            "constrained_tok_s": cn / cs, "system_info": x.get_system_info()}  # type: ignore[dict-item]


def _child_llama_cpp_python(model: str, threads: int, article: str) -> dict[str, float]:
    import llama_cpp
    import llama_cpp.llama_cpp as lc

    default_params = lc.llama_model_default_params

    def params_without_extra_bufts():  # type: ignore[no-untyped-def]
        # The AMX repack buffer crashes on Sapphire Rapids class CPUs (llama.cpp #20824).
        p = default_params()
        if hasattr(p, "use_extra_bufts"):
            p.use_extra_bufts = False
        return p

    lc.llama_model_default_params = params_without_extra_bufts
    started = time.perf_counter()
    llm = llama_cpp.Llama(model_path=model, n_ctx=4096, n_threads=threads,
                          n_threads_batch=threads, verbose=False)
    load = time.perf_counter() - started

    def run(prompt: str, n: int, grammar: object = None) -> tuple[int, float, int, float]:
        tokens = llm.tokenize(prompt.encode(), add_bos=False, special=True)
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(tokens)
        t1 = time.perf_counter()
        produced = 0
        for _ in llm.generate(tokens, temp=0.0, grammar=grammar, reset=False):
            produced += 1
            if produced >= n:
                break
        return len(tokens), t1 - t0, produced, time.perf_counter() - t1

    pn, ps, _, _ = run(_prompt(article, "Summarize the article in one sentence."), 1)
    _, _, gn, gs = run(_prompt(article, "Retell the article in detail."), GEN_TOKENS)
    grammar = llama_cpp.LlamaGrammar.from_json_schema(json.dumps(SCHEMA), verbose=False)
    _, _, cn, cs = run(_prompt(article, "Give a headline and the ids of key sentences as JSON."),
                       GEN_TOKENS, grammar)
    return {"load_s": load, "prompt_tokens": pn, "prompt_tok_s": pn / ps,
            "gen_tokens": gn, "gen_tok_s": gn / gs, "constrained_tokens": cn,
            "constrained_tok_s": cn / cs,
            "system_info": llama_cpp.llama_print_system_info().decode()}  # type: ignore[dict-item]


def _child(runtime: str, model: str, threads: int) -> None:
    article = (SEED if SEED.is_file() else FALLBACK).read_text(encoding="utf-8")
    fn = _child_xllamacpp if runtime == "xllamacpp" else _child_llama_cpp_python
    result: dict[str, object] = dict(fn(model, threads, article))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


# --- parent ----------------------------------------------------------------------------

def _install(venv: Path, runtime: str) -> float:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = dict(os.environ, PIP_NO_CACHE_DIR="1", CMAKE_BUILD_PARALLEL_LEVEL=str(os.cpu_count()))
    started = time.perf_counter()
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *PACKAGES[runtime]],
                   check=True, env=env)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--install", action="store_true",
                        help="time a clean install of each runtime (empty pip cache)")
    parser.add_argument("--venvs", type=Path, default=Path(tempfile.gettempdir()) / "bench-runtime")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", choices=sorted(PACKAGES), action="append")
    parser.add_argument("--child", choices=sorted(PACKAGES), help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.model, args.threads)
        return

    from assistant.backends.model_files import ensure_model

    model = str(ensure_model())
    rows: dict[str, dict[str, object]] = {}
    for runtime in args.only or sorted(PACKAGES, reverse=True):
        venv = args.venvs / runtime
        row: dict[str, object] = {}
        if args.install:
            if venv.exists():
                subprocess.run(["rm", "-rf", str(venv)], check=True)
            print(f"installing {runtime} into {venv} (empty pip cache) ...", flush=True)
            row["install_s"] = _install(venv, runtime)
        python = venv / "bin" / "python"
        if not python.exists():
            print(f"{runtime}: no venv at {venv}; run with --install", file=sys.stderr)
            continue
        proc = subprocess.run([str(python), __file__, "--child", runtime, "--model", model,
                               "--threads", str(args.threads)],
                              capture_output=True, text=True, check=False)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            row["error"] = f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"
        else:
            row.update(json.loads(lines[-1][len("RESULT "):]))
        rows[runtime] = row

    print(f"\nthreads={args.threads}, article={'seed' if SEED.is_file() else FALLBACK.name}")
    cols = [("install_s", "install s", "{:.0f}"), ("load_s", "load s", "{:.1f}"),
            ("prompt_tok_s", "prompt tok/s", "{:.1f}"), ("gen_tok_s", "gen tok/s", "{:.1f}"),
            ("constrained_tok_s", "json tok/s", "{:.1f}"), ("peak_rss_mb", "peak RSS MB", "{:.0f}")]
    print(f"{'runtime':<18}" + "".join(f"{title:>14}" for _, title, _ in cols))
    for runtime, row in rows.items():
        if "error" in row:
            print(f"{runtime:<18} failed: {row['error']}")
            continue
        cells = [fmt.format(row[key]) if key in row else "-" for key, _, fmt in cols]
        print(f"{runtime:<18}" + "".join(f"{c:>14}" for c in cells))
    if len([r for r in rows.values() if "error" not in r]) == 2:
        a, b = rows["xllamacpp"], rows["llama-cpp-python"]
        for key, _, _ in cols:
            if key in a and key in b:
                print(f"  xllamacpp / llama-cpp-python {key}: {float(a[key]) / float(b[key]):.2f}")  # type: ignore[arg-type]
    for runtime, row in rows.items():
        if "system_info" in row:
            print(f"{runtime} system info: {str(row['system_info']).strip()}")


if __name__ == "__main__":
    main()
