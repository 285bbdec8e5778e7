"""``polyalign run`` (one grid cell, real models, resumable; pipeline/workflow.py) and ``polyalign recipes
export`` (the grid's recipes; pipeline/recipes.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

import polyalign_lf.options as opt
from polyalign_lf.pipeline.stages import add_stage_options, comma_names

# --- polyalign run ---------------------------------------------------------------------------------


def run_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.pipeline.recipes import LANGUAGES, MODELS

    parser.add_argument(
        "--recipe-dir",
        default=None,
        type=Path,
        help="folder of one language's recipes, e.g. recipes/en (its name is the language); default: "
        "ROOT/recipes/LANG, where the cell's recipes are exported from the installed package when none are there "
        "yet (what `polyalign recipes export ROOT --lang LANG --model MODEL` writes; edited recipes are kept)",
    )
    parser.add_argument("--model", required=True, choices=sorted(MODELS), help="model of the grid cell")
    parser.add_argument(
        "--lang",
        default=None,
        choices=LANGUAGES,
        help="language of the cell (default: the recipe folder's name; required without --recipe-dir)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=Path("."),
        help="directory the recipes' relative paths refer to (default: the current directory)",
    )
    parser.add_argument(
        "--prepared",
        type=Path,
        default=None,
        help="records already written by `polyalign prepare` (skips the prepare stage, "
        "which otherwise runs `polyalign prepare --all` and needs the Hub)",
    )
    parser.add_argument(
        "--nproc-per-node",
        type=opt.count,
        default=None,
        help="GPUs per node for training (sets LLaMA-Factory's NPROC_PER_NODE; FORCE_TORCHRUN=1 is always set "
        "because the recipes use DeepSpeed ZeRO-3)",
    )
    parser.add_argument(
        "--engine",
        choices=["hf", "vllm"],
        default=None,
        help="generation engine: hf (transformers; the default) or vllm, which starts one `vllm serve MODEL` per "
        "model and stage (reused by that model's candidates) and stops it afterwards (the practical choice for a "
        "real cell); see --vllm-url",
    )
    parser.add_argument(
        "--vllm-url",
        default=None,
        help="generate through a vLLM server you run at this URL (implies --engine vllm); it must serve each "
        "method's model under its path (--served-model-name), a server for another model is refused",
    )
    parser.add_argument(
        "--vllm-serve-cmd",
        default="vllm serve",
        help="--engine vllm: the command that starts a server, e.g. '/opt/vllm-env/bin/vllm serve'",
    )
    parser.add_argument(
        "--vllm-serve-args",
        default="",
        help="--engine vllm: extra `vllm serve` arguments, one string written with '=', e.g. "
        "--vllm-serve-args='--tensor-parallel-size 8'",
    )
    parser.add_argument(
        "--generate-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for every `polyalign generate` call (e.g. --generate-arg=--engine=vllm); repeatable",
    )
    parser.add_argument(
        "--evaluate-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for every `polyalign evaluate` call (e.g. --evaluate-arg=--mauve-featurizer=PATH); repeatable",
    )
    add_stage_options(parser)


def run_main(args: argparse.Namespace) -> int:
    from polyalign_lf.pipeline.workflow import run_cell

    return run_cell(args)


# --- polyalign recipes export ----------------------------------------------------------------------


def recipes_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="recipes_command", required=True)
    export = sub.add_parser(
        "export", help="write the grid's recipes, the ZeRO-3 config and the dataset_info.json entries into DIR"
    )
    export.add_argument(
        "dir", metavar="DIR", type=Path, help="folder to write recipes/ and data_registry/ into (e.g. .)"
    )
    export.add_argument("--lang", default="en,zh", help="languages to export, comma-separated (default en,zh)")
    export.add_argument(
        "--model", default=None, help="models to export, comma-separated (default: the four of the grid)"
    )
    export.add_argument("--overwrite", action="store_true", help="replace recipe files that exist with other content")


def recipes_main(args: argparse.Namespace) -> int:
    from polyalign_lf.pipeline.recipes import export_recipes

    result = export_recipes(
        args.dir, languages=comma_names(args.lang), models=comma_names(args.model) or None, overwrite=args.overwrite
    )
    print(
        f"recipes export: {len(result['written']) - 1} file(s) written, {len(result['unchanged'])} already up to date, "
        f"dataset_info.json entries merged into {args.dir / 'data_registry' / 'dataset_info.json'}"
    )
    print(
        f"train one with: cd {args.dir} && FORCE_TORCHRUN=1 llamafactory-cli train recipes/en/gemma2_2b_hdpo.yaml "
        "(after building its data: README, First steps)"
    )
    return 0
