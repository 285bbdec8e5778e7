"""Run the real ``llamafactory-cli train`` from tests and benchmarks (offline, CPU, in a subprocess).

``run_lf_train(config, workdir)`` writes ``config`` as a YAML recipe into ``workdir`` and runs the
``llamafactory-cli`` that sits next to ``sys.executable`` (the one of this venv), exactly as a user
would, so the ``.pth`` hook, torchrun children (``FORCE_TORCHRUN=1``) and LLaMA-Factory's own argument
parsing are all exercised. ``tiny_train_config`` gives a recipe that trains a tiny model in seconds.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "WANDB_DISABLED": "true",
    "WANDB_MODE": "disabled",
    "TOKENIZERS_PARALLELISM": "false",
    "DISABLE_VERSION_CHECK": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "OMP_NUM_THREADS": "1",
    "POLYALIGN_NO_PROGRESS": "1",
}


@dataclass
class LFRun:
    """Outcome of one ``llamafactory-cli train`` subprocess."""

    returncode: int
    stdout: str
    stderr: str
    log_history: list[dict] = field(default_factory=list)
    output_dir: Path | None = None

    @property
    def output(self) -> str:
        return self.stdout + "\n" + self.stderr

    def train_logs(self) -> list[dict]:
        """Per-step training log rows (those with a ``loss`` key), in step order."""
        return [row for row in self.log_history if "loss" in row and ("step" in row or "current_steps" in row)]

    def step_loss(self, step: int = 1) -> float:
        """The training loss logged at optimizer step ``step`` (needs ``logging_steps: 1``)."""
        for row in self.log_history:
            if "loss" in row and row.get("step", row.get("current_steps")) == step:
                return float(row["loss"])
        raise AssertionError(f"no loss logged at step {step}; log_history={self.log_history}\n{self.tail()}")

    def tail(self, n: int = 4000) -> str:
        return self.stdout[-n // 2 :] + "\n--- stderr ---\n" + self.stderr[-n:]

    def check(self) -> LFRun:
        """Raise with the subprocess's output tail if it failed."""
        if self.returncode != 0:
            raise AssertionError(f"llamafactory-cli train failed (rc={self.returncode}):\n{self.tail()}")
        return self


def lf_cli_path() -> str:
    """The ``llamafactory-cli`` of the running interpreter's environment."""
    candidate = Path(sys.executable).with_name("llamafactory-cli")
    if candidate.exists():
        return str(candidate)
    raise FileNotFoundError(f"llamafactory-cli not found next to {sys.executable}; install llamafactory in this env")


def read_log_history(output_dir: str | os.PathLike) -> list[dict]:
    """Log rows of a finished run: ``trainer_state.json``'s ``log_history`` (full precision, has ``step``)
    when present, else LLaMA-Factory's ``trainer_log.jsonl`` (``current_steps``)."""
    out = Path(output_dir)
    state = out / "trainer_state.json"
    if state.is_file():
        try:
            history = json.loads(state.read_text(encoding="utf-8")).get("log_history", [])
            if history:
                return history
        except json.JSONDecodeError:
            pass
    rows: list[dict] = []
    log = out / "trainer_log.jsonl"
    if log.is_file():
        for line in log.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if "current_steps" in row and "step" not in row:
                    row["step"] = row["current_steps"]
                rows.append(row)
    return rows


def run_lf_train(
    config: dict[str, Any],
    workdir: Path,
    *,
    env: dict[str, str] | None = None,
    timeout: int = 900,
    extra_args: list[str] | None = None,
    yaml_name: str = "recipe.yaml",
    cli_form: bool = False,
) -> LFRun:
    """Write ``config`` to ``workdir/recipe.yaml`` and run ``llamafactory-cli train`` on it.

    ``env`` entries are added to (and override) the current environment plus offline defaults;
    a value of ``None`` removes a variable. ``extra_args`` are appended after the YAML path
    (LLaMA-Factory's ``key=value`` overrides). With ``cli_form=True`` no YAML is written: the recipe is
    passed as ``--key value`` arguments (LLaMA-Factory's command-line form). Never raises on a failed run:
    inspect ``returncode``.
    """
    import yaml

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    recipe = workdir / yaml_name
    recipe.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    full_env = dict(os.environ)
    full_env.update(OFFLINE_ENV)
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = str(value)
    # LLaMA-Factory's launcher runs `torchrun` by name: the venv's bin must be on PATH even when the venv
    # is not activated.
    bin_dir = str(Path(sys.executable).parent)
    full_env["PATH"] = bin_dir + os.pathsep + full_env.get("PATH", "")
    # torchrun children must find free ports even when tests run back to back.
    full_env.setdefault("MASTER_PORT", str(_free_port()))
    if cli_form:
        recipe.unlink()
        flags: list[str] = []
        for key, value in config.items():
            flags += [f"--{key}", str(value).lower() if isinstance(value, bool) else str(value)]
        cmd = [lf_cli_path(), "train", *flags, *(extra_args or [])]
    else:
        cmd = [lf_cli_path(), "train", str(recipe), *(extra_args or [])]
    try:
        proc = subprocess.run(cmd, cwd=workdir, env=full_env, capture_output=True, text=True, timeout=timeout)
        returncode, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        returncode = 124
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        stderr = (
            exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        ) + f"\n[timeout after {timeout}s]"
    output_dir = Path(config["output_dir"]) if config.get("output_dir") else None
    if output_dir is not None and not output_dir.is_absolute():
        output_dir = workdir / output_dir
    history = read_log_history(output_dir) if output_dir is not None and output_dir.exists() else []
    return LFRun(returncode, stdout, stderr, history, output_dir)


def _free_port() -> int:

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tiny_train_config(
    model_dir: str | os.PathLike,
    dataset: str,
    dataset_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    **overrides: Any,
) -> dict[str, Any]:
    """A recipe that trains ``model_dir`` on CPU in seconds (full fine-tuning, SFT by default).

    ``overrides`` replace or add keys (e.g. ``stage="hdpo"``, ``bucket_weighting=True``); an override
    of ``None`` removes the key.
    """
    config: dict[str, Any] = {
        "model_name_or_path": str(model_dir),
        "trust_remote_code": False,
        "stage": "sft",
        "do_train": True,
        "finetuning_type": "full",
        "dataset": dataset,
        "dataset_dir": str(dataset_dir),
        "template": "qwen",
        "cutoff_len": 128,
        "overwrite_cache": True,
        "preprocessing_num_workers": 1,
        "dataloader_num_workers": 0,
        "output_dir": str(output_dir),
        "overwrite_output_dir": True,
        "logging_steps": 1,
        "save_strategy": "no",
        "plot_loss": False,
        "report_to": "none",
        "per_device_train_batch_size": 1,
        "gradient_accumulation_steps": 1,
        "learning_rate": 1.0e-4,
        "max_steps": 2,
        "lr_scheduler_type": "constant",
        "use_cpu": True,
        "bf16": False,
        "fp16": False,
        "seed": 42,
    }
    for key, value in overrides.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    return config
