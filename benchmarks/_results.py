"""The one place where benchmark scripts write their result JSON.

Every ``bench_<topic>.py`` ends with ``write_result(topic, figures, goals, quick=...)``. The file holds
``{"benchmark", "figures": {name: value}, "goals": {name: text}, "machine", ["settings"], "quick", ...}``
(``benchmarks/run_all.py`` reads these keys). Full-size runs go to ``benchmarks/results/<topic>.json`` — the
figures the README quotes — and ``--quick`` (small) runs to ``benchmarks/results/quick/<topic>.json``, so a
quick check never overwrites a full measurement.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
QUICK_DIR = RESULTS_DIR / "quick"


def results_dir(quick: bool) -> Path:
    """Where full-size (``quick=False``) or small (``quick=True``) results live."""
    return QUICK_DIR if quick else RESULTS_DIR


def machine_description() -> dict[str, Any]:
    """What the numbers were measured on (platform, CPU model and count, memory, load, torch and GPU)."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024**2, 1)
                break
    except OSError:
        pass
    try:
        # the load at the end of the run: figures taken on a shared machine are only comparable with it
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            info["gpu"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception:  # torch missing or broken: the result still gets written
        pass
    return info


def write_result(
    topic: str,
    figures: dict,
    goals: dict,
    *,
    quick: bool,
    settings: dict | None = None,
    out: str | os.PathLike | None = None,
    machine: dict | None = None,
    **extra: Any,
) -> Path:
    """Write one benchmark's result atomically and return its path.

    ``out`` (a script's explicit ``--out``/``--output``) wins over the default location
    (:func:`results_dir` / ``<topic>.json``). ``machine`` adds script-specific entries (e.g. the device a
    model ran on) to :func:`machine_description`. ``extra`` keys (e.g. ``runs_s``) are written as they are.
    """
    if str(HERE.parent) not in sys.path:  # run from a checkout without an installed package
        sys.path.insert(0, str(HERE.parent))
    from polyalign_lf.io import write_json

    result: dict[str, Any] = {
        "benchmark": topic,
        "figures": figures,
        "goals": goals,
        "machine": {**machine_description(), **(machine or {})},
    }
    if settings is not None:
        result["settings"] = settings
    result["quick"] = bool(quick)
    result.update(extra)
    path = Path(out) if out is not None else results_dir(quick) / f"{topic}.json"
    write_json(path, result)
    return path
