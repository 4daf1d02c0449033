"""Access-log benchmark (not a test): ``tutela logs anonymize`` next to anonip 1.1.0, in one run.

Inputs: the 200 MB synthetic nginx logs of ``gen_nginx_log.py`` (``combined`` with
seed 1, ``main`` = combined + X-Forwarded-For with seed 2), generated once into
``.bench-cache/logs/`` (named by the generator's arguments and a hash of the
generator). anonip 1.1.0 goes into a throwaway virtualenv in
``.bench-cache/anonip-venv`` (pip, once); if that fails its side is recorded as
skipped and Tutela's side still runs.

Every command runs as a child process that reads a file on standard input and
writes a file on standard output, as ``anonip < in > out`` (page cache warmed
first). The cases alternate round by round (``BENCH_LOGS_ROUNDS``, default 5);
medians are quoted, with each child's peak RSS (``wait4``):

1. column mode on ``combined``: ``--anonip`` (anonip's masks and defaults), our
   defaults, and ``anonip`` with its defaults;
2. column mode on ``main``: ``--anonip`` and ``--no-xff`` (column 1 only, as
   anonip), our defaults with the X-Forwarded-For list, and ``anonip``;
3. regex mode on ``main`` with the 4-group X-Forwarded-For regex of
   logs_pii.md §A.5 row 17: ours with anonip's masks and with our masks, and
   ``anonip --regex`` with the same regex;
4. the ceiling: a plain Python copy loop with 1 MiB buffers, on both inputs.

Then the outputs of ``--anonip`` and anonip are compared line by line (column
mode on ``combined``, regex mode on ``main``) and every differing line is
classified. Run alone with ``python bench/logs.py``; the document goes to
``bench/results/logs.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CACHE = ROOT / ".bench-cache"
GENERATOR = (ROOT.parent / "shared" / "tools" / "gen_nginx_log.py").resolve()
TUTELA = Path(sys.executable).with_name("tutela")
ANONIP_VERSION = "1.1.0"
PACKAGE = f"anonip=={ANONIP_VERSION}"
XFF_REGEX = r'^(\S+) .* "(?:-|([^",]+)(?:, ([^",]+))?(?:, ([^",]+))?)"$'
TARGET_RATIO = 10.0
MAPPED = re.compile(rb"::ffff:\d+\.\d+\.\d+\.\d+")
COPY_LOOP = (
    "import sys\n"
    "src = open(0, 'rb', buffering=1 << 20, closefd=False)\n"
    "dst = open(1, 'wb', buffering=1 << 20, closefd=False)\n"
    "write = dst.write\n"
    "for line in src:\n"
    "    write(line)\n"
    "dst.flush()\n"
)


def machine() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
    }


# ---------------------------------------------------------------- inputs and anonip


def generated(fmt: str, seed: int, size_mb: int) -> Path:
    """The cached log for these generator arguments (made on first use)."""
    digest = hashlib.sha256(GENERATOR.read_bytes()).hexdigest()[:12]
    path = CACHE / "logs" / f"nginx-{fmt}-seed{seed}-{size_mb}mb-{digest}.log"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    print(f"logs: generating {path.name} (first run only)", flush=True)
    arguments = ["--size-mb", str(size_mb), "--seed", str(seed), "--format", fmt]
    subprocess.run(
        [sys.executable, str(GENERATOR), *arguments, "-o", str(partial)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    partial.replace(path)
    return path


def describe(path: Path) -> dict[str, object]:
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):  # also warms the page cache
            lines += chunk.count(b"\n")
    return {"file": str(path.relative_to(ROOT)), "bytes": path.stat().st_size, "lines": lines}


def anonip_venv() -> tuple[Path | None, str | None]:
    """``(anonip executable, None)`` or ``(None, why it is missing)``."""
    venv = CACHE / "anonip-venv"
    program = venv / "bin" / "anonip"
    marker = venv / ".installed"
    if marker.exists() and program.exists():
        return program, None
    log = CACHE / "anonip-install.log"
    CACHE.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "anonip==" + ANONIP_VERSION,
            ],
        ]
        for step in steps:
            print(f"logs: {' '.join(step[:4])} … (first run only)", flush=True)
            if subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, check=False).returncode:
                tail = log.read_text(encoding="utf-8").strip().splitlines()[-3:]
                return None, f"installing anonip {ANONIP_VERSION} failed: {' | '.join(tail)}"
    found = subprocess.run([str(program), "--version"], capture_output=True, text=True)
    if ANONIP_VERSION not in found.stdout + found.stderr:
        return None, f"anonip --version said {found.stdout.strip()!r}"
    marker.write_text(ANONIP_VERSION + "\n", encoding="utf-8")
    return program, None


# ---------------------------------------------------------------- running the cases


def run_once(command: list[str], source: Path, target: Path) -> dict[str, float]:
    """One child reading ``source`` on stdin and writing ``target`` on stdout."""
    with source.open("rb") as stdin, target.open("wb") as stdout:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise RuntimeError(f"{' '.join(command[:4])} … exited with {child.returncode}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


def summary(samples: list[dict[str, float]], size: int) -> dict[str, object]:
    walls = [sample["wall_s"] for sample in samples]
    wall = statistics.median(walls)
    return {
        "median_s": round(wall, 3),
        "runs_s": [round(value, 3) for value in walls],
        "median_cpu_s": round(statistics.median(s["cpu_s"] for s in samples), 3),
        "mb_per_s": round(size / 1e6 / wall, 1),
        "peak_rss_mb": round(max(s["peak_rss_mb"] for s in samples), 1),
    }


def measure(
    cases: dict[str, tuple[list[str], Path]], rounds: int, scratch: Path
) -> dict[str, dict[str, object]]:
    """Alternate the cases round by round; the last output of each stays in ``scratch``."""
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
    for number in range(rounds):
        for name, (command, source) in cases.items():
            samples[name].append(run_once(command, source, scratch / f"{name}.out"))
        print(f"logs: round {number + 1}/{rounds} done", flush=True)
    return {
        name: summary(samples[name], cases[name][1].stat().st_size) | {"input": source.name}
        for name, (_, source) in cases.items()
    }


# ---------------------------------------------------------------- comparing outputs


def compare(ours: Path, theirs: Path) -> dict[str, object]:
    """Lines that differ between two outputs, each sorted into a reason."""
    reasons: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    total = 0
    with ours.open("rb") as mine, theirs.open("rb") as other:
        for line, their in zip(mine, other, strict=False):
            total += 1
            if line == their:
                continue
            reason = classify(line, their)
            reasons[reason] += 1
            if len(examples.setdefault(reason, [])) < 2:
                examples[reason].append(f"{line[:80]!r} | anonip: {their[:80]!r}")
    return {
        "lines_compared": total,
        "lines_differing": sum(reasons.values()),
        "by_reason": dict(reasons),
        "examples": examples,
    }


def classify(line: bytes, their: bytes) -> str:
    """Why a line of ours differs from anonip's; ``other`` would be an unexplained difference."""
    if MAPPED.sub(b"::", line) == their:
        return "ipv4_mapped: anonip writes ::, we keep ::ffff: and the masked IPv4"
    return "other"


# ---------------------------------------------------------------- the run


def run(rounds: int, size_mb: int) -> dict[str, Any]:
    facts = machine()
    combined = generated("combined", 1, size_mb)
    main_log = generated("main", 2, size_mb)
    inputs: dict[str, Any] = {"combined": describe(combined), "main": describe(main_log)}
    anonip, anonip_error = anonip_venv()
    tutela = [str(TUTELA), "logs", "anonymize"]
    loop = [sys.executable, "-c", COPY_LOOP]
    cases: dict[str, tuple[list[str], Path]] = {
        "combined.tutela_anonip": ([*tutela, "--anonip"], combined),
        "combined.tutela_defaults": (tutela, combined),
        "combined.copy_loop": (loop, combined),
        "main.tutela_anonip": ([*tutela, "--anonip"], main_log),
        "main.tutela_no_xff": ([*tutela, "--no-xff"], main_log),
        "main.tutela_xff": (tutela, main_log),
        "main.copy_loop": (loop, main_log),
        "regex.tutela_anonip_masks": ([*tutela, "--anonip", "--regex", XFF_REGEX], main_log),
        "regex.tutela_our_masks": ([*tutela, "--regex", XFF_REGEX], main_log),
    }
    if anonip is not None:
        cases["combined.anonip"] = ([str(anonip)], combined)
        cases["main.anonip"] = ([str(anonip)], main_log)
        cases["regex.anonip"] = ([str(anonip), "--regex", XFF_REGEX], main_log)
    scratch = Path(tempfile.mkdtemp(prefix="logs-", dir=CACHE))
    try:
        start = time.perf_counter()
        results = measure(cases, rounds, scratch)
        small = scratch / "small.log"
        # a tenth of the input, copied in pieces: a child's peak RSS includes what this
        # process holds when it starts the child, so this process must stay small
        with combined.open("rb") as handle, small.open("wb") as out:
            left = size_mb * 100_000
            while left > 0 and (chunk := handle.read(min(1 << 20, left))):
                left -= len(chunk)
                out.write(chunk if left > 0 else chunk[: chunk.rfind(b"\n") + 1])
        empty = scratch / "empty.log"
        empty.write_bytes(b"")
        startup = [run_once(tutela, empty, scratch / "empty.out")["wall_s"] for _ in range(3)]
        memory: dict[str, Any] = {
            "input_mb": round(small.stat().st_size / 1e6, 1),
            "peak_rss_mb": round(run_once(tutela, small, scratch / "small.out")["peak_rss_mb"], 1),
        }
        checks: dict[str, object] = {"skipped": anonip_error}
        if anonip is not None:
            checks = {
                "column_combined_anonip_vs_tutela_anonip": compare(
                    scratch / "combined.tutela_anonip.out", scratch / "combined.anonip.out"
                ),
                "regex_main_anonip_vs_tutela_anonip_masks": compare(
                    scratch / "regex.tutela_anonip_masks.out", scratch / "regex.anonip.out"
                ),
            }
        elapsed = time.perf_counter() - start
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results["tutela_startup_empty_input"] = {"median_s": round(statistics.median(startup), 3)}
    document = conclude(results, inputs, memory, checks, anonip_error, elapsed, rounds)
    document["machine"] = facts | {"loadavg_at_end": os.getloadavg()}
    return document


def conclude(
    results: dict[str, dict[str, Any]],
    inputs: dict[str, Any],
    memory: dict[str, Any],
    checks: dict[str, object],
    anonip_error: str | None,
    elapsed: float,
    rounds: int,
) -> dict[str, Any]:
    def ratio(slow: str, fast: str, key: str = "median_s") -> float | None:
        if slow not in results or fast not in results:
            return None
        return round(float(results[slow][key]) / float(results[fast][key]), 2)

    ratios = {
        "column_combined_anonip_over_tutela_anonip": ratio(
            "combined.anonip", "combined.tutela_anonip"
        ),
        "column_combined_anonip_over_tutela_defaults": ratio(
            "combined.anonip", "combined.tutela_defaults"
        ),
        "column_main_anonip_over_tutela_anonip": ratio("main.anonip", "main.tutela_anonip"),
        "column_main_anonip_over_tutela_no_xff": ratio("main.anonip", "main.tutela_no_xff"),
        "column_main_anonip_over_tutela_xff": ratio("main.anonip", "main.tutela_xff"),
        "regex_anonip_over_tutela_anonip_masks": ratio("regex.anonip", "regex.tutela_anonip_masks"),
        "regex_anonip_over_tutela_our_masks": ratio("regex.anonip", "regex.tutela_our_masks"),
        "ceiling_fraction_combined_tutela_anonip": ratio(
            "combined.copy_loop", "combined.tutela_anonip"
        ),
        "ceiling_fraction_combined_tutela_defaults": ratio(
            "combined.copy_loop", "combined.tutela_defaults"
        ),
        "ceiling_fraction_main_tutela_no_xff": ratio("main.copy_loop", "main.tutela_no_xff"),
        "ceiling_fraction_regex_tutela_anonip_masks": ratio(
            "main.copy_loop", "regex.tutela_anonip_masks"
        ),
    }
    cpu_ratios = {
        "column_combined_anonip_over_tutela_anonip": ratio(
            "combined.anonip", "combined.tutela_anonip", "median_cpu_s"
        ),
        "column_main_anonip_over_tutela_anonip": ratio(
            "main.anonip", "main.tutela_anonip", "median_cpu_s"
        ),
        "column_main_anonip_over_tutela_no_xff": ratio(
            "main.anonip", "main.tutela_no_xff", "median_cpu_s"
        ),
        "regex_anonip_over_tutela_anonip_masks": ratio(
            "regex.anonip", "regex.tutela_anonip_masks", "median_cpu_s"
        ),
    }
    column = [
        ratios["column_combined_anonip_over_tutela_anonip"],
        ratios["column_main_anonip_over_tutela_anonip"],
    ]
    regex = ratios["regex_anonip_over_tutela_anonip_masks"]
    targets = {
        "column_mode_at_least_10x_anonip": None
        if None in column
        else all(value is not None and value >= TARGET_RATIO for value in column),
        "regex_mode_at_least_10x_anonip": None if regex is None else regex >= TARGET_RATIO,
    }
    return {
        "benchmark": "tutela logs anonymize next to anonip 1.1.0 and a Python copy loop",
        "how": "child processes, stdin file -> stdout file, page cache warm, cases alternating "
        f"round by round, median of {rounds}; ratios are anonip median / ours median of wall "
        "time (ceiling fractions: copy-loop median / ours median); cpu_time_ratios use "
        "user+system time of the child, steadier when the machine is shared; targets use "
        "wall time",
        "inputs": inputs,
        "anonip": {"version": ANONIP_VERSION}
        if anonip_error is None
        else {"skipped": anonip_error},
        "regex": XFF_REGEX,
        "results": results,
        "ratios": ratios,
        "cpu_time_ratios": cpu_ratios,
        "targets_met": targets,
        "memory": {
            "note": "peak RSS of one child; per case in results",
            "tutela_defaults_small_input": memory,
            "tutela_defaults_full_input_mb": results["combined.tutela_defaults"]["peak_rss_mb"],
        },
        "output_check": checks,
        "elapsed_s": round(elapsed, 1),
    }


def write(document: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    document["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    path = RESULTS / "logs.json"
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def main() -> None:
    rounds = int(os.environ.get("BENCH_LOGS_ROUNDS", "5"))
    size_mb = int(os.environ.get("BENCH_LOGS_SIZE_MB", "200"))
    document = run(rounds, size_mb)
    written = write(document)
    shown = {key: document[key] for key in ("ratios", "cpu_time_ratios", "targets_met")}
    print(f"{written.relative_to(ROOT)}: {json.dumps(shown, indent=1)}")


if __name__ == "__main__":
    main()
