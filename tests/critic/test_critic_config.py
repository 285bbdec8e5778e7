"""`polyalign critic train --config FILE`: YAML keys are the command's options; the command line wins."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from polyalign_lf.critic.cli import apply_config_file, critic_arguments
from polyalign_lf.errors import ConfigError, InputError


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    critic_arguments(parser)
    return parser.parse_args(argv)


def test_config_fills_options_and_command_line_overrides(tmp_path):
    cfg = tmp_path / "critic.yaml"
    cfg.write_text(
        "type: mlp\nreferences: refs.json\nfeatures: [a.npz, b.npz]\nout: bundle\nepochs: 3\nbatch-size: 64\n",
        encoding="utf-8",
    )
    args = _parse(["train", "--config", str(cfg), "--epochs", "7"])
    apply_config_file(args, args._parser, args.config)
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
    args = _parse(["train", "--config", str(cfg)])
    with pytest.raises(error) as info:
        apply_config_file(args, args._parser, args.config)
    assert "critic.yaml" in str(info.value)


def test_missing_required_options_are_named(tmp_path, capsys):
    from polyalign_lf.cli import main

    cfg = tmp_path / "critic.yaml"
    cfg.write_text("epochs: 2\n", encoding="utf-8")
    assert main(["critic", "train", "--config", str(cfg)]) == 2
    assert "--references and --out" in capsys.readouterr().err
