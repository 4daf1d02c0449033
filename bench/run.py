"""Benchmarks (not tests): start-up time of the CLI and lint+render time of the example.

Every number is measured side by side with a baseline in the same run, because the
machine is shared and noisy: quote the medians and the ratios, not a lone time.
Results go to bench/results/*.json with machine facts.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
EXAMPLE = ROOT / "src" / "tutela" / "policy" / "examples" / "example.yaml"
TUTELA = Path(sys.executable).with_name("tutela")


def machine() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
    }


def time_command(cmd: list[str], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return samples


def interleaved(cases: dict[str, Callable[[], list[float]]], rounds: int) -> dict[str, list[float]]:
    """Alternate the cases round by round so that load spikes hit all of them alike."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            samples[name].extend(case())
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p10_ms": round(ordered[len(ordered) // 10] * 1000, 2),
        "p90_ms": round(ordered[(len(ordered) * 9) // 10] * 1000, 2),
        "runs": len(ordered),
    }


def bench_startup(rounds: int) -> dict[str, object]:
    cases = {
        "python_noop": lambda: time_command([sys.executable, "-c", "pass"], 1),
        "python_import_typer_rich": lambda: time_command(
            [sys.executable, "-c", "import typer, rich.console"], 1
        ),
        "tutela_help": lambda: time_command([str(TUTELA), "--help"], 1),
        "tutela_version": lambda: time_command([str(TUTELA), "--version"], 1),
    }
    samples = interleaved(cases, rounds)
    result = {name: summary(values) for name, values in samples.items()}
    base = result["python_noop"]["median_ms"]
    return {
        "benchmark": "cli start-up",
        "results": result,
        "ratio_help_to_python_noop": round(result["tutela_help"]["median_ms"] / base, 2),
        "ratio_help_to_import_typer_rich": round(
            result["tutela_help"]["median_ms"] / result["python_import_typer_rich"]["median_ms"], 2
        ),
        "machine": machine(),
    }


def bench_lint_render(rounds: int) -> dict[str, object]:
    import yaml

    from tutela.policy.lint import lint
    from tutela.policy.loader import load_declaration
    from tutela.policy.statement import StatementMeta, render_statement

    text = EXAMPLE.read_text(encoding="utf-8")
    # the fastest safe YAML parse of the same file: what any tool reading it must pay
    fast_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    declaration = load_declaration(EXAMPLE)
    import datetime as dt

    meta = StatementMeta(
        version=1,
        published_at=None,
        effective_at=dt.date(2026, 1, 1),
        revised_on=dt.date(2026, 1, 1),
        content_hash=None,
    )
    render_statement(declaration, language="de", fmt="html", meta=meta)  # warm caches

    def timed(fn: Callable[[], object]) -> Callable[[], list[float]]:
        def run() -> list[float]:
            start = time.perf_counter()
            fn()
            return [time.perf_counter() - start]

        return run

    def full() -> None:
        decl = load_declaration(EXAMPLE)
        lint(decl)
        for language in ("de", "en"):
            for fmt in ("html", "markdown"):
                render_statement(decl, language=language, fmt=fmt, meta=meta)  # type: ignore[arg-type]

    cases = {
        "yaml_parse_baseline": timed(lambda: yaml.load(text, Loader=fast_loader)),  # noqa: S506
        "load_and_validate": timed(lambda: load_declaration(EXAMPLE)),
        "lint": timed(lambda: lint(declaration)),
        "render_de_html": timed(
            lambda: render_statement(declaration, language="de", fmt="html", meta=meta)
        ),
        "load_lint_render_all_four": timed(full),
    }
    samples = interleaved(cases, rounds)
    result = {name: summary(values) for name, values in samples.items()}
    base = result["yaml_parse_baseline"]["median_ms"]
    return {
        "benchmark": "lint and render of the example declaration (in process, warm)",
        "results": result,
        "ratio_full_to_yaml_load": round(
            result["load_lint_render_all_four"]["median_ms"] / base, 2
        ),
        "example_bytes": len(text.encode()),
        "machine": machine(),
    }


def write(name: str, document: dict[str, object]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    document["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"{path.relative_to(ROOT)}: {json.dumps(document['results'])}")


def main() -> None:
    rounds = int(os.environ.get("BENCH_ROUNDS", "30"))
    write("startup", bench_startup(rounds))
    write("lint_render", bench_lint_render(rounds * 3))
    # the consent benchmarks run as their own program (they start subprocesses)
    subprocess.run([sys.executable, str(ROOT / "bench" / "consent.py")], check=True)
    # requests next to Fides 2.78.2 (installs Fides into .bench-cache/ once; skips it if it cannot)
    subprocess.run([sys.executable, str(ROOT / "bench" / "dsr.py")], check=True)
    # retention sweeps of 5,000,000 rows next to one hand-written DELETE (SQLite, PostgreSQL)
    subprocess.run([sys.executable, str(ROOT / "bench" / "retention.py")], check=True)
    # the log anonymizer next to anonip 1.1.0 (installed into .bench-cache/ once) on 200 MB logs
    subprocess.run([sys.executable, str(ROOT / "bench" / "logs.py")], check=True)


if __name__ == "__main__":
    main()
