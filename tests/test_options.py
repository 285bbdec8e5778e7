"""Every command takes --config; a command whose options are generated from its config dataclass has exactly
that dataclass's options (names, defaults, choices), and a --config file fills them, explicit flags winning."""

from __future__ import annotations

import argparse
import dataclasses
import json

import pytest

from polyalign_lf.cli import COMMANDS, main
from polyalign_lf.options import add_config_option, add_dataclass_options, field_default, option_fields


def _parser(name: str) -> argparse.ArgumentParser:
    import importlib

    module = importlib.import_module(COMMANDS[name][0])
    parser = argparse.ArgumentParser(prog=f"polyalign {name}")
    getattr(module, f"{name.replace('-', '_')}_arguments")(parser)
    add_config_option(parser)
    return parser


def _leaves(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [parser]
    return [leaf for sub in dict.fromkeys(subs[0].choices.values()) for leaf in _leaves(sub)]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_and_sub_command_takes_config(name):
    for leaf in _leaves(_parser(name)):
        assert any("--config" in a.option_strings for a in leaf._actions), (name, leaf.prog)


def _generated() -> dict[str, tuple[type, ...]]:
    """Each generated command's config dataclasses."""
    from polyalign_lf.critic.mlp import MLPCriticConfig
    from polyalign_lf.critic.workflow import CriticReportJob, CriticScoreJob, CriticTrainJob
    from polyalign_lf.data.workflow import DatasetsJob, DedupJob, ExportJob, PrepareJob
    from polyalign_lf.detect.workflow import DetectConfig
    from polyalign_lf.features.workflow import FeaturesJob
    from polyalign_lf.humaneval.build import BuildJob
    from polyalign_lf.humaneval.summarize import SummarizeJob
    from polyalign_lf.inference.decoding import DecodingConfig
    from polyalign_lf.inference.generate import GenerateJob
    from polyalign_lf.integration.doctor import DoctorJob
    from polyalign_lf.judge.workflow import JudgeJob
    from polyalign_lf.metrics.workflow import EvaluateJob
    from polyalign_lf.models.install import InstallJob, VerifyJob
    from polyalign_lf.pairs.hdpo_weights import WeightConfig
    from polyalign_lf.pairs.workflow import HdpoPairsJob, PairsJob, WeightsJob
    from polyalign_lf.pipeline.recipes import RecipesExportJob
    from polyalign_lf.pipeline.workflow import RunJob
    from polyalign_lf.references.workflow import ReferencesJob
    from polyalign_lf.report.workflow import ReportConfig
    from polyalign_lf.study.workflow import DemoJob, StudyJob

    return {
        "detect": (DetectConfig,),
        "generate": (GenerateJob, DecodingConfig),
        "evaluate": (EvaluateJob,),
        "features": (FeaturesJob,),
        "references": (ReferencesJob,),
        "judge": (JudgeJob,),
        "report": (ReportConfig,),
        "weights": (WeightsJob, WeightConfig),
        "pairs dpo": (PairsJob,),
        "pairs hdpo": (HdpoPairsJob, WeightConfig),
        "critic train": (CriticTrainJob, MLPCriticConfig),
        "critic score": (CriticScoreJob,),
        "critic report": (CriticReportJob,),
        "human-eval build": (BuildJob,),
        "human-eval summarize": (SummarizeJob,),
        "models list": (),
        "models install": (InstallJob,),
        "models verify": (VerifyJob,),
        "prepare": (PrepareJob,),
        "dedup": (DedupJob,),
        "export": (ExportJob,),
        "datasets": (DatasetsJob,),
        "run": (RunJob,),
        "recipes export": (RecipesExportJob,),
        "study": (StudyJob,),
        "demo": (DemoJob,),
        "doctor": (DoctorJob,),
    }


def _leaf(name: str) -> argparse.ArgumentParser:
    """The parser of ``"command"`` or ``"command sub-command"``."""
    command, _, sub = name.partition(" ")
    parser = _parser(command)
    if not sub:
        return parser
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return action.choices[sub]


GENERATED = ["detect", "generate", "evaluate", "features", "references", "judge", "report", "weights", "pairs dpo",
             "pairs hdpo", "critic train", "critic score", "critic report", "human-eval build", "human-eval summarize",
             "models list", "models install", "models verify", "prepare", "dedup", "export",
             "datasets", "run", "recipes export", "study", "demo", "doctor"]  # fmt: skip


@pytest.mark.parametrize("name", GENERATED)
def test_a_generated_parser_is_its_dataclass(name):
    leaf = _leaf(name)
    parser_actions = leaf._actions
    # a renamed required option: the new and old spellings form one required group
    in_required_group = {a.dest for g in leaf._mutually_exclusive_groups if g.required for a in g._group_actions}
    actions = {a.dest: a for a in parser_actions if a.dest not in ("help", "config") and a.help != argparse.SUPPRESS}
    fields = {f.name: f for cls in _generated()[name] for f in option_fields(cls)}
    assert set(actions) == set(fields)
    for dest, action in actions.items():
        f = fields[dest]
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            assert action.required or not action.option_strings or dest in in_required_group, dest
            continue
        if dest != "server_url":  # the command's default is $VLLM_SERVER_URL when set
            assert action.default == field_default(f), dest
        choices = f.metadata["choices"]
        if choices is not None:
            assert tuple(action.choices) == tuple(choices() if callable(choices) else choices), dest


def test_generated_options_check_types_and_choices():
    @dataclasses.dataclass
    class Toy:
        path: str = dataclasses.field(metadata={})  # not an option
        size: int = dataclasses.field(default=3, metadata={"help": "h", "flag": None, "aliases": (), "type": None,
                                                           "choices": None, "metavar": None})  # fmt: skip

    from polyalign_lf.options import option

    @dataclasses.dataclass
    class Options:
        size: int = option(3, help="a size")
        mode: str = option("a", choices=("a", "b"), help="a mode")
        flag: bool = option(False, help="a flag")
        names: list[str] = option(default_factory=list, help="names")

    parser = argparse.ArgumentParser()
    add_dataclass_options(parser, Options)
    args = parser.parse_args(["--size", "5", "--mode", "b", "--flag", "--names", "x", "y"])
    assert (args.size, args.mode, args.flag, args.names) == (5, "b", True, ["x", "y"])
    for bad in (["--size", "nan"], ["--mode", "c"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
    assert [f.name for f in option_fields(Toy)] == ["size"]


def test_config_file_fills_a_generated_command_and_flags_win(tmp_path, make_record, capsys):
    from polyalign_lf.data.schema import write_records
    from polyalign_lf.detect.detectors import DETECTORS, Detector, register_detector
    from polyalign_lf.io import write_jsonl

    @register_detector
    class Length(Detector):
        name = "length_probe"
        label = "Len AI%"

        def score(self, texts, models, desc):
            return [min(1.0, len(t) / 40) for t in texts]

    try:
        records = [make_record(k) for k in range(4)]
        write_records(tmp_path / "test.jsonl", records)
        write_jsonl(tmp_path / "m.jsonl", ({"id": r["id"], "prediction": "x" * 30} for r in records))
        config = {"records": str(tmp_path / "test.jsonl"), "predictions": [str(tmp_path / "m.jsonl")],
                  "detectors": "length_probe", "out": str(tmp_path / "from_file")}  # fmt: skip
        (tmp_path / "detect.yaml").write_text(json.dumps(config))
        assert main(["detect", "--config", str(tmp_path / "detect.yaml"), "--out", str(tmp_path / "from_flag")]) == 0
        assert (tmp_path / "from_flag" / "summary.json").is_file() and not (tmp_path / "from_file").exists()
        (tmp_path / "bad.yaml").write_text(json.dumps(dict(config, batch_size=0)))
        assert main(["detect", "--config", str(tmp_path / "bad.yaml")]) == 2
        assert "batch_size" in capsys.readouterr().err
    finally:
        DETECTORS.unregister("length_probe")


def test_every_command_is_generated_from_its_config():
    """Each command (each sub-command) has its config dataclasses listed above: none is written by hand."""
    leaves = set()
    for name in COMMANDS:
        parser = _parser(name)
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        leaves |= {f"{name} {sub}" for sub in subs[0].choices} if subs else {name}
    assert leaves == set(GENERATED)


@pytest.mark.parametrize("name", GENERATED)
def test_one_style_for_options_with_several_values(name):
    """Every option that takes several values takes them after one flag or in repeated flags alike."""
    for action in _leaf(name)._actions:
        if action.option_strings and action.help != argparse.SUPPRESS:
            if isinstance(action, argparse._AppendAction):  # _ExtendAction is one, plain append is not
                assert isinstance(action, argparse._ExtendAction), (name, action.dest)
            if action.nargs in ("+", "*"):
                assert isinstance(action, argparse._ExtendAction), (name, action.dest)


def test_repeated_flags_and_several_values_mean_the_same():
    args = _leaf("critic train").parse_args(["--features", "a.npz", "b.npz", "--features", "c.npz"])
    assert [str(p) for p in args.features] == ["a.npz", "b.npz", "c.npz"]


@pytest.mark.parametrize("name", GENERATED)
def test_one_device_rule(name):
    """Every --device takes the same values with the same default and states the one rule."""
    from polyalign_lf.options import DEVICE_RULE, torch_device_or_auto

    for action in _leaf(name)._actions:
        if "--device" in action.option_strings:
            assert action.default is None and action.type is torch_device_or_auto, name
            assert DEVICE_RULE in action.help, name


def test_the_device_and_dtype_rules():
    import torch

    from polyalign_lf.core.devices import resolve_device, resolve_dtype

    gpu = torch.cuda.is_available()
    assert resolve_device(None) == resolve_device("auto") == ("cuda" if gpu else "cpu")
    assert resolve_device("cpu") == "cpu"
    assert resolve_dtype("auto", "cpu") is torch.float32
    assert resolve_dtype("float16", "cpu") is torch.float16
