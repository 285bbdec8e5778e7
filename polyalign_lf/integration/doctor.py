"""``polyalign doctor``: is polyalign-lf wired into LLaMA-Factory here, and would a PolyAlign recipe run?

Prints versions, whether the hook is active in this interpreter and in a fresh one (where
``llamafactory.train.tuner`` is really imported, as ``llamafactory-cli train`` does), and every check that
would refuse a run. Exit status 0 when all checks pass, 1 otherwise.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from dataclasses import dataclass

from polyalign_lf.options import option

_PROBE = r"""
import json, sys
out = {}
import polyalign_lf._bootstrap as b
out["finder_active"] = b.is_active()
try:
    import llamafactory.train.tuner as tuner
    out["tuner_patched"] = bool(getattr(tuner.get_train_args, "_polyalign", False))
    from polyalign_lf.integration.compat import lf_version, missing_hook_points
    out["lf_version"] = lf_version()
    out["missing_hook_points"] = missing_hook_points()
except Exception as exc:
    out["tuner_patched"] = False
    out["import_error"] = f"{type(exc).__name__}: {exc}"
import importlib.util
if importlib.util.find_spec("gradio") is None:
    out["webui"] = {"gradio": False}
else:
    try:
        import llamafactory.webui.interface
        from polyalign_lf.integration.lf_v0.webui import STATUS
        out["webui"] = {"gradio": True, "registered": bool(STATUS["registered"]), "reason": STATUS["reason"]}
    except Exception as exc:
        out["webui"] = {"gradio": True, "registered": False, "reason": f"{type(exc).__name__}: {exc}"}
out["loaded"] = b.STATE["loaded"]
out["errors"] = b.STATE["errors"]
sys.stdout.write("\n@@POLYALIGN@@" + json.dumps(out))
"""

PACKAGES = ("polyalign-lf", "llamafactory", "torch", "transformers", "trl", "datasets", "accelerate", "peft")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fatal: bool = True


# What `pip install 'polyalign-lf[deepspeed]'` installs: transformers needs >= 0.9.3, LLaMA-Factory documents
# 0.10.0 to 0.16.x. DeepSpeed builds from source: torch, wheel and setuptools must be installed first and pip run
# with --no-build-isolation (its ops compile on first use, so no CUDA toolkit is needed to install it).
DEEPSPEED_REQUIREMENT = "deepspeed>=0.10.0,<=0.16.9"
DEEPSPEED_INSTALL = "pip install wheel setuptools && pip install --no-build-isolation 'polyalign-lf[deepspeed]'"


@dataclass(kw_only=True)
class DoctorJob:
    """`polyalign doctor`'s options."""

    recipe: list[str] = option(
        default_factory=list,
        metavar="RECIPE.yaml",
        help="also check what this recipe needs here: DeepSpeed for a `deepspeed:` config, bf16 support (repeatable)",
    )
    quiet: bool = option(False, help="print only failed checks (and a one-line summary)")
    json: bool = option(False, help="print the result as JSON")
    no_subprocess: bool = option(
        False, help="skip the fresh-interpreter probe (which imports LLaMA-Factory, a few seconds)"
    )


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _env_on(name: str) -> bool:
    return os.environ.get(name, "0").strip().lower() in ("1", "true", "yes", "on", "y")


def _pth_locations() -> list[str]:

    dirs = list(site.getsitepackages()) + [site.getusersitepackages()]
    return [os.path.join(d, "polyalign_lf.pth") for d in dirs if os.path.isfile(os.path.join(d, "polyalign_lf.pth"))]


def _probe() -> dict:
    env = dict(os.environ)
    env.pop("POLYALIGN_LF_DISABLE", None)  # probe whether the hook *would* be active
    env.setdefault("DISABLE_VERSION_CHECK", "1")
    env.setdefault("HF_HUB_OFFLINE", "1")
    try:
        proc = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, timeout=300)
    except subprocess.TimeoutExpired:
        return {"probe_error": "timed out after 300 s"}
    marker = proc.stdout.rfind("@@POLYALIGN@@")
    if marker < 0:
        return {"probe_error": (proc.stderr or proc.stdout)[-800:]}
    return json.loads(proc.stdout[marker + len("@@POLYALIGN@@") :])


def torch_build() -> dict:
    """Which torch this is (CPU, CUDA or ROCm build), whether a GPU is visible and whether it does bf16 — what
    decides if a recipe's ``bf16: true`` can run here."""
    try:
        import torch
    except ImportError as exc:
        return {"build": None, "error": str(exc)}
    build = "rocm" if getattr(torch.version, "hip", None) else "cuda" if torch.version.cuda else "cpu"
    info: dict = {
        "build": build,
        "version": torch.__version__,
        "cuda": torch.version.cuda,
        "hip": getattr(torch.version, "hip", None),
        "gpu_available": bool(torch.cuda.is_available()),
    }
    if info["gpu_available"]:
        info["device"] = torch.cuda.get_device_name(0)
        info["bf16"] = bool(torch.cuda.is_bf16_supported())
    else:
        info["bf16"] = False
    info["cpu_bf16"] = cpu_bf16()
    return info


def cpu_bf16() -> str | None:
    """The CPU's native bf16 instructions ("AMX-BF16", "AVX512-BF16"), or None: with them, bf16 autocast
    trains about 1.5–2× faster than fp32 on CPU (benchmarks/bench_cpu_bf16.py)."""
    try:
        import torch

        if getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)():
            return "AMX-BF16"
        if getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)():
            return "AVX512-BF16"
    except Exception:  # an old torch without the probes: fall back to the kernel's flags
        pass
    try:
        flags = set(open("/proc/cpuinfo", encoding="utf-8").read().split())
    except OSError:
        return None
    return "AMX-BF16" if "amx_bf16" in flags else "AVX512-BF16" if "avx512_bf16" in flags else None


def _webui_check(webui: dict) -> Check:
    """LlamaBoard is optional (gradio): its state is a warning, never a failure of the training checks."""
    if not webui.get("gradio"):
        detail = (
            "gradio not installed, no LlamaBoard here (pip install 'polyalign-lf[webui]' for `llamafactory-cli webui`)"
        )
        return Check("LlamaBoard offers HDPO", True, detail, fatal=False)
    if webui.get("registered"):
        return Check(
            "LlamaBoard offers HDPO", True, "stage HDPO and the PolyAlign fields are in the train tab", fatal=False
        )
    return Check(
        "LlamaBoard offers HDPO",
        False,
        f"this LlamaBoard cannot be extended safely ({webui.get('reason')}); write the recipe as YAML "
        "(polyalign recipes export) or use a supported LLaMA-Factory",
        fatal=False,
    )


def deepspeed_check(required: bool) -> Check:
    """DeepSpeed installed (fatal when a recipe needs it, a warning otherwise: the grid's recipes use ZeRO-3)."""
    version = _version("deepspeed")
    if version is not None:
        from packaging.requirements import Requirement

        if not Requirement(DEEPSPEED_REQUIREMENT).specifier.contains(version, prereleases=True):
            return Check(
                "DeepSpeed version",
                False,
                f"{version} is outside {DEEPSPEED_REQUIREMENT} (the range LLaMA-Factory documents); ZeRO may fail or "
                f"differ: {DEEPSPEED_INSTALL}",
                fatal=False,
            )
        return Check("DeepSpeed installed", True, f"{version} (the grid's recipes use ZeRO-3)", fatal=required)
    return Check(
        "DeepSpeed installed",
        False,
        "not installed; every grid recipe trains with ZeRO-3 (`deepspeed: recipes/deepspeed/ds_z3_config.json`) "
        f"and LLaMA-Factory stops without it: {DEEPSPEED_INSTALL}",
        fatal=required,
    )


def recipe_checks(recipes, torch_info: dict | None = None) -> list[Check]:
    """What the given LLaMA-Factory recipes need from this machine: DeepSpeed (and its config file) for a
    ``deepspeed:`` recipe (fatal), bf16 where the recipe asks for it (a warning: LLaMA-Factory would refuse)."""
    import yaml

    from polyalign_lf.errors import ConfigError
    from polyalign_lf.integration.prompting import read_recipe

    torch_info = torch_info if torch_info is not None else torch_build()
    checks: list[Check] = []
    needs_deepspeed = []
    for recipe in recipes:
        try:
            config = read_recipe(recipe)
        except (OSError, yaml.YAMLError, ConfigError) as exc:
            checks.append(Check(f"recipe {recipe}", False, f"cannot be read: {exc}"))
            continue
        deepspeed = config.get("deepspeed")
        if deepspeed:
            needs_deepspeed.append(str(recipe))
            if not os.path.isfile(str(deepspeed)):
                checks.append(
                    Check(
                        f"recipe {recipe}: DeepSpeed config",
                        False,
                        f"{deepspeed} not found (paths are relative to the directory you train in)",
                    )
                )
        if config.get("bf16"):
            gpu_bf16 = torch_info.get("gpu_available") and torch_info.get("bf16")
            cpu_bf16_ok = config.get("use_cpu") and torch_info.get("cpu_bf16")
            if not (gpu_bf16 or cpu_bf16_ok):
                where = (
                    "this GPU has no bf16"
                    if torch_info.get("gpu_available")
                    else "no GPU here"
                    + ("" if config.get("use_cpu") else " and the recipe lacks `use_cpu: true`")
                    + ("" if torch_info.get("cpu_bf16") else "; this CPU has no native bf16")
                )
                checks.append(
                    Check(
                        f"recipe {recipe}: bf16",
                        False,
                        f"asks for bf16: true but {where}; use bf16: false here",
                        fatal=False,
                    )
                )
    if needs_deepspeed:
        checks.append(deepspeed_check(required=True))
    return checks


def run_checks(subprocess_probe: bool = True, recipes=()) -> tuple[dict, list[Check]]:
    from polyalign_lf import _bootstrap
    from polyalign_lf.integration.compat import SUPPORTED_LF, version_supported

    info = {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "versions": {name: _version(name) for name in PACKAGES},
        "supported_llamafactory": SUPPORTED_LF,
        "hook_active_here": _bootstrap.is_active(),
        "pth_files": _pth_locations(),
        "torch": torch_build(),
    }
    checks: list[Check] = []
    t = info["torch"]
    if t.get("build") is None:
        checks.append(Check("torch importable", False, t.get("error", "not installed")))
    else:
        where = f"GPU {t['device']}" if t["gpu_available"] else "no GPU visible"
        checks.append(
            Check(
                "torch build",
                True,
                f"{t['version']} ({t['build']} build; {where}"
                + (
                    f"; GPU bf16 {'available' if t['bf16'] else 'not available: run recipes with bf16=false'}"
                    if t["gpu_available"]
                    else ""
                )
                + ")",
                fatal=False,
            )
        )
        if not t["gpu_available"]:
            native = t.get("cpu_bf16")
            checks.append(
                Check(
                    "CPU bf16",
                    True,
                    f"native bf16 on this CPU ({native}): to train on it set `use_cpu: true` and `bf16: true` "
                    "(LLaMA-Factory refuses bf16 on CPU without use_cpu)"
                    if native
                    else "no native bf16 on this CPU (no AMX/AVX512-BF16): train in fp32 (`bf16: false`)",
                    fatal=False,
                )
            )
    lf = info["versions"]["llamafactory"]
    checks.append(Check("llamafactory installed", lf is not None, lf or "pip install 'polyalign-lf[lf]'"))
    if lf is not None:
        ok = version_supported(lf) or _env_on("POLYALIGN_LF_SKIP_VERSION_CHECK")
        checks.append(Check("llamafactory version supported", ok, f"{lf} (supported {SUPPORTED_LF})"))
    checks.append(
        Check(
            "polyalign_lf.pth installed",
            bool(info["pth_files"]),
            ", ".join(info["pth_files"]) or "reinstall: pip install polyalign-lf (or -e .)",
        )
    )
    disabled = _bootstrap.disabled()
    checks.append(
        Check(
            "POLYALIGN_LF_DISABLE not set",
            not disabled,
            "set: PolyAlign recipes will fail (unset it to train them)" if disabled else "ok",
        )
    )
    checks.append(
        Check(
            "hook active in this interpreter",
            info["hook_active_here"] or disabled,
            "yes" if info["hook_active_here"] else "no (python -S? call polyalign_lf.activate())",
        )
    )
    recipe_results = recipe_checks(recipes, t) if recipes else []
    if not any(c.name == "DeepSpeed installed" for c in recipe_results):
        checks.append(deepspeed_check(required=False))
    checks += recipe_results
    for env in ("USE_MCA", "USE_MEGATRON_BRIDGE"):
        if _env_on(env):
            checks.append(Check(f"{env} not set", False, f"{env}=1: PolyAlign recipes refuse the MCA/Megatron paths"))
    if _env_on("ALLOW_EXTRA_ARGS"):
        checks.append(
            Check(
                "ALLOW_EXTRA_ARGS not set",
                False,
                "set: with the plugin disabled, PolyAlign keys would be dropped silently instead of failing",
                fatal=False,
            )
        )
    if subprocess_probe:
        probe = _probe()
        info["fresh_interpreter"] = probe
        if "probe_error" in probe:
            checks.append(Check("fresh interpreter probe", False, probe["probe_error"]))
        else:
            checks.append(
                Check(
                    "hook active in a fresh interpreter",
                    bool(probe.get("finder_active")),
                    "the .pth installed the import hook" if probe.get("finder_active") else "not active",
                )
            )
            checks.append(
                Check(
                    "llamafactory.train.tuner patched on import",
                    bool(probe.get("tuner_patched")),
                    probe.get("import_error") or f"plugins loaded: {', '.join(probe.get('loaded', []))}",
                )
            )
            missing = probe.get("missing_hook_points") or []
            checks.append(Check("LLaMA-Factory hook points present", not missing, ", ".join(missing) or "all present"))
            checks.append(_webui_check(probe.get("webui") or {}))
            for error in probe.get("errors", []):
                checks.append(Check("plugin load", False, error, fatal=False))
    return info, checks
