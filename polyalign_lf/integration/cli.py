"""``polyalign doctor``: the installation and the LLaMA-Factory hook checked (integration/doctor.py)."""

from __future__ import annotations

import argparse
import json


def doctor_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.integration.doctor import DoctorJob
    from polyalign_lf.options import add_dataclass_options

    add_dataclass_options(parser, DoctorJob)


def doctor_main(args: argparse.Namespace) -> int:
    from polyalign_lf.integration.doctor import run_checks

    info, checks = run_checks(
        subprocess_probe=not getattr(args, "no_subprocess", False), recipes=getattr(args, "recipe", []) or []
    )
    failed = [c for c in checks if not c.ok and c.fatal]
    if getattr(args, "json", False):
        print(json.dumps({"info": info, "checks": [c.__dict__ for c in checks], "ok": not failed}, indent=2))
        return 1 if failed else 0
    if not args.quiet:
        print(f"polyalign-lf {info['versions']['polyalign-lf']}  python {info['python']}  ({info['executable']})")
        print("versions: " + ", ".join(f"{k} {v or '-'}" for k, v in info["versions"].items() if k != "polyalign-lf"))
    for check in checks:
        if args.quiet and check.ok:
            continue
        mark = "ok  " if check.ok else ("FAIL" if check.fatal else "warn")
        print(f"[{mark}] {check.name}: {check.detail}")
    if failed:
        print(f"polyalign doctor: {len(failed)} check(s) failed; PolyAlign recipes would be refused here.")
        return 1
    print(
        "polyalign doctor: all checks passed"
        + (" (llamafactory-cli train accepts PolyAlign recipes)" if not getattr(args, "no_subprocess", False) else "")
    )
    return 0
