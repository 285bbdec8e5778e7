"""`polyalign COMMAND --help` works for every command (a bare % in a help string once crashed one)."""

from __future__ import annotations

import pytest

from polyalign_lf.cli import COMMANDS, main


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_working_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "usage: polyalign" in capsys.readouterr().out


def _command_parsers():
    """(label, parser) for every command and sub-command, built the way the dispatcher builds them."""
    import argparse
    import importlib

    for name, (module_name, help_) in sorted(COMMANDS.items()):
        module = importlib.import_module(module_name)
        parser = argparse.ArgumentParser(prog=f"polyalign {name}", description=help_)
        getattr(module, f"{name.replace('-', '_')}_arguments")(parser)
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    yield f"{name} {sub_name}", sub


def test_every_subcommand_has_working_help(capsys):
    for label, _parser in _command_parsers():
        if " " not in label:
            continue
        with pytest.raises(SystemExit) as exc:
            main([*label.split(), "--help"])
        assert exc.value.code == 0, label
        assert f"usage: polyalign {label}" in capsys.readouterr().out


def test_every_option_has_help():
    missing = [
        f"{label}: {'/'.join(a.option_strings)}"
        for label, parser in _command_parsers()
        for a in parser._actions
        if a.option_strings and a.dest != "help" and not (a.help or "").strip()
    ]
    assert not missing, "options without help:\n" + "\n".join(missing)


def test_old_option_spellings_still_work_with_a_warning(tmp_path, capsys):
    """Renamed options keep their old spelling for one release (see docs/cli.md)."""
    import argparse

    from polyalign_lf.pairs.cli import pairs_arguments

    parser = argparse.ArgumentParser(prog="polyalign pairs")
    pairs_arguments(parser)
    base = ["hdpo", "--records", "r", "--predictions", "p", "--lang", "en", "--model-name", "m", "--critic", "c"]
    new = parser.parse_args(
        [*base, "--out", "x", "--scarcity", "0.7", "--gap", "2", "--rarity", "0", "--type-bias", "1"]
    )
    assert capsys.readouterr().err == ""
    old = parser.parse_args([*base, "--out-dir", "x", "--alpha", "0.7", "--beta", "2", "--gamma", "0", "--eta", "1"])
    err = capsys.readouterr().err
    assert "--out-dir is deprecated; use --out" in err and "--beta is deprecated; use --gap" in err
    keys = ("out_dir", "alpha", "beta", "gamma", "eta")
    assert [getattr(new, k) for k in keys] == [getattr(old, k) for k in keys]
    defaults = parser.parse_args(base)
    assert (defaults.alpha, defaults.beta) == (0.5, 1.0)  # an unused alias leaves the default alone


def test_one_predictions_spelling_everywhere():
    """`--predictions [NAME=]PATH` is accepted by the one-file commands too (the NAME is then unused)."""
    import argparse
    from pathlib import Path

    from polyalign_lf.features.cli import features_arguments
    from polyalign_lf.metrics.cli import evaluate_arguments

    for add in (features_arguments, evaluate_arguments):
        parser = argparse.ArgumentParser()
        add(parser)
        for spelling in ("sft=runs/p.jsonl", "runs/p.jsonl"):
            args = parser.parse_args(["--records", "r.jsonl", "--predictions", spelling, "--out", "o"])
            assert args.predictions == Path("runs/p.jsonl")
