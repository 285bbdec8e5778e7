"""``polyalign run`` (one grid cell, real models, resumable; pipeline/workflow.py) and ``polyalign recipes
export`` (the grid's recipes; pipeline/recipes.py)."""

from __future__ import annotations

import argparse

from polyalign_lf.pipeline.stages import comma_names

# --- polyalign run ---------------------------------------------------------------------------------


def run_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.options import add_dataclass_options
    from polyalign_lf.pipeline.workflow import RunJob

    add_dataclass_options(parser, RunJob)


def run_main(args: argparse.Namespace) -> int:
    from polyalign_lf.options import config_from_args
    from polyalign_lf.pipeline.workflow import RunJob, run_cell

    return run_cell(config_from_args(RunJob, args))


# --- polyalign recipes export ----------------------------------------------------------------------


def recipes_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.options import add_dataclass_options
    from polyalign_lf.pipeline.recipes import RecipesExportJob

    sub = parser.add_subparsers(dest="recipes_command", required=True)
    export = sub.add_parser(
        "export", help="write the grid's recipes, the ZeRO-3 config and the dataset_info.json entries into DIR"
    )
    add_dataclass_options(export, RecipesExportJob)


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
