"""The request benchmark's arithmetic: summaries, ratios, targets met, the headline."""

from __future__ import annotations

import statistics
from typing import Any

SHIPPED = "as_shipped"
"""``tutela serve`` as shipped: the web server with its in-process worker thread."""
SEPARATE = "worker_processes_2"
"""``tutela serve`` without its worker, plus two ``tutela worker`` processes."""
TARGETS = {
    "latency_speedup_min": 50,
    "burst_speedup_min": 50,
    "rows_per_request_max": 10,
    "fields_left_max": 0,
    "export_rss_mb_max": 200,
}


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p10_ms": round(ordered[len(ordered) // 10] * 1000, 1),
        "p90_ms": round(ordered[(len(ordered) * 9) // 10] * 1000, 1),
        "runs": len(ordered),
    }


def compare(tutela_value: float, fides_value: float) -> dict[str, float]:
    return {
        "ratio_tutela_to_fides": round(tutela_value / fides_value, 4),
        "speedup": round(fides_value / tutela_value, 2),
    }


def conclude(results: dict[str, Any]) -> dict[str, Any]:
    """Burst ratios against the Fides runs, and which targets were met."""
    fides_runs = {
        "fides_eager": results[SHIPPED]["burst"].get("fides_eager", {}).get("seconds"),
        "fides_celery_worker": results.get("fides_celery_worker", {}).get("seconds"),
    }
    met: dict[str, Any] = {}
    for name in (SHIPPED, SEPARATE):
        part = results[name]
        for fides_name, seconds in fides_runs.items():
            if seconds:
                own = part["burst"]["tutela"]["seconds"]
                part["burst"][f"vs_{fides_name}"] = compare(own, seconds)
        latency = part["latency"].get("vs_fides", {}).get("speedup")
        burst_up = part["burst"].get("vs_fides_eager", {}).get("speedup")
        met[f"latency_{name}"] = None if latency is None else latency >= 50
        met[f"burst_{name}"] = None if burst_up is None else burst_up >= 50
    shipped = results[SHIPPED]
    rows = shipped["rows_per_access_request"]["tutela"]["rows_inserted"]
    met["rows_per_request"] = rows <= TARGETS["rows_per_request_max"]
    met["fields_left"] = shipped["erasure"]["tutela"]["fields_left"] == 0
    peak = results["export_1m_rows"].get("rss_peak_mb")
    met["export_rss"] = None if peak is None else peak < TARGETS["export_rss_mb_max"]
    return met


def headline(results: dict[str, Any]) -> dict[str, Any]:
    """The numbers to quote, in one place."""

    def pick(path: str) -> Any:
        value: Any = results
        for part in path.split("/"):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    rows, erasure = f"{SHIPPED}/rows_per_access_request", f"{SHIPPED}/erasure"
    return {
        "latency_median_ms": {
            "tutela_as_shipped": pick(f"{SHIPPED}/latency/tutela/median_ms"),
            "tutela_worker_processes_2": pick(f"{SEPARATE}/latency/tutela/median_ms"),
            "fides_eager": pick(f"{SHIPPED}/latency/fides/median_ms"),
            "speedup_as_shipped": pick(f"{SHIPPED}/latency/vs_fides/speedup"),
            "speedup_worker_processes_2": pick(f"{SEPARATE}/latency/vs_fides/speedup"),
        },
        "burst_50_seconds": {
            "tutela_as_shipped": pick(f"{SHIPPED}/burst/tutela/seconds"),
            "tutela_worker_processes_2": pick(f"{SEPARATE}/burst/tutela/seconds"),
            "fides_eager": pick(f"{SHIPPED}/burst/fides_eager/seconds"),
            "fides_celery_worker": pick("fides_celery_worker/seconds"),
            "speedup_as_shipped_vs_eager": pick(f"{SHIPPED}/burst/vs_fides_eager/speedup"),
            "speedup_worker_processes_2_vs_eager": pick(f"{SEPARATE}/burst/vs_fides_eager/speedup"),
        },
        "rows_inserted_per_access_request": {
            "tutela": pick(f"{rows}/tutela/rows_inserted"),
            "fides": pick(f"{rows}/fides/rows_inserted"),
        },
        "personal_fields_left_after_erasure": {
            "tutela": pick(f"{erasure}/tutela/fields_left"),
            "fides": pick(f"{erasure}/fides/fields_left"),
        },
        "export_1m_rows": {
            "rss_peak_mb": pick("export_1m_rows/rss_peak_mb"),
            "seconds": pick("export_1m_rows/seconds"),
            "baseline_seconds": pick("export_1m_rows/baseline_stream_to_zip_seconds"),
        },
    }
