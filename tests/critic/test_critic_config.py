"""`polyalign critic train --config FILE`: YAML keys are the command's options; the command line wins."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from polyalign_lf.critic.cli import critic_arguments
from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.options import parse_with_config


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    critic_arguments(parser)
    return parse_with_config(parser, argv)


def test_config_fills_options_and_command_line_overrides(tmp_path):
    cfg = tmp_path / "critic.yaml"
    cfg.write_text(
        "type: mlp\nreferences: refs.json\nfeatures: [a.npz, b.npz]\nout: bundle\nepochs: 3\nbatch-size: 64\n",
        encoding="utf-8",
    )
    args = _parse(["train", "--config", str(cfg), "--epochs", "7"])
    assert args.references == Path("refs.json") and args.out == Path("bundle")
    assert args.features == [Path("a.npz"), Path("b.npz")]
    assert args.batch_size == 64
    assert args.epochs == 7  # given on the command line


@pytest.mark.parametrize(
    "text, error",
    [
        ("epochz: 3\n", ConfigError),  # unknown option
        ("type: transformer\n", ConfigError),  # not a choice
        ("- a\n- b\n", InputError),  # not a mapping
        ("type: [unclosed\n", InputError),  # invalid YAML
    ],
)
def test_bad_config_is_a_clear_error(tmp_path, text, error):
    cfg = tmp_path / "critic.yaml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(error) as info:
        _parse(["train", "--config", str(cfg)])
    assert "critic.yaml" in str(info.value)


def test_missing_required_options_are_named(tmp_path, capsys):
    from polyalign_lf.cli import main

    cfg = tmp_path / "critic.yaml"
    cfg.write_text("epochs: 2\n", encoding="utf-8")
    assert main(["critic", "train", "--config", str(cfg)]) == 2
    assert "--references and --out" in capsys.readouterr().err


def test_an_explicit_flag_wins_even_when_it_equals_the_default(tmp_path):
    """TRL's rule: the file sets defaults, the command line overrides — `--epochs 5 --seed 42` (both the built-in
    defaults) over a file saying 10 and 7 trains with 5 and 42."""
    cfg = tmp_path / "critic.yaml"
    cfg.write_text("epochs: 10\nseed: 7\nbatch_size: 64\n", encoding="utf-8")
    args = _parse(["train", "--config", str(cfg), "--epochs", "5", "--seed", "42"])
    assert (args.epochs, args.seed, args.batch_size) == (5, 42, 64)
    args = _parse(["train", "--config", str(cfg)])
    assert (args.epochs, args.seed) == (10, 7)
