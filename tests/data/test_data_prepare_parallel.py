"""prepare's worker-process path (row-local formatters, JSONL sources) gives the same bytes and errors as in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polyalign_lf.data import prepare as prepare_module
from polyalign_lf.data.formatters import get_formatter
from polyalign_lf.data.prepare import prepare_dataset
from polyalign_lf.errors import InputError


def _rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        zh = i % 7 == 0
        row = {
            "id": f"r{i}",
            "question": ("问题 {i}？" if zh else "Ｑuestion  {i}?").format(i=i),
            "answer": ("答案，很长。" * (i % 50) if zh else "answer word " * (i % 90)) or " ",
            "language": "zh" if zh else "en",
            "track": "single",
            "family": "qa",
        }
        if i % 3 == 0:
            row["split"] = ("train", "val", "test")[i % 9 // 3]
        if i % 5 == 0:
            row.update(
                track="multi",
                family="dialogue",
                group=f"g{i // 10}",
                history=[{"role": "user", "text": "hi  there"}, {"role": "assistant", "text": "hello"}],
            )
        rows.append(row)
    return rows


def _write(path: Path, rows: list, extra: str = "") -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) + extra, encoding="utf-8")
    return path


def _outputs(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "d").iterdir())}


def test_parallel_prepare_is_byte_identical(tmp_path, monkeypatch):
    monkeypatch.setattr(prepare_module, "_CHUNK_ROWS", 37)  # many chunks, several in flight
    src = _write(tmp_path / "src.jsonl", _rows(700))
    serial = prepare_dataset(get_formatter("custom"), {"all": str(src)}, tmp_path / "serial", name="d", workers=0)
    parallel = prepare_dataset(get_formatter("custom"), {"all": str(src)}, tmp_path / "par", name="d", workers=2)
    assert serial == parallel
    assert serial["skipped"] == {"empty_answer": 8}  # zh i=0,350; en i=90,180,270,360,450,540
    assert _outputs(tmp_path / "serial") == _outputs(tmp_path / "par")


@pytest.mark.parametrize(
    "bad, expected",
    [
        (
            '{"id": "r5", "question": "q", "answer": "a", "language": "en", "track": "single", "family": "qa"}\n',
            "duplicate id",
        ),
        (
            '{"id": "x", "question": "q", "answer": "a", "language": "fr", "track": "single", "family": "qa"}\n',
            "column 'language'",
        ),
        ('{"id": "x", "question": "q"\n', "invalid JSON"),
    ],
)
def test_parallel_prepare_raises_the_same_first_error(tmp_path, monkeypatch, bad, expected):
    monkeypatch.setattr(prepare_module, "_CHUNK_ROWS", 37)
    rows = _rows(300)
    src = tmp_path / "src.jsonl"
    _write(src, rows[:200], bad + "".join(json.dumps(r) + "\n" for r in rows[200:]) + "not json\n")
    messages = []
    for k, workers in enumerate((0, 2)):
        with pytest.raises(InputError) as info:
            prepare_dataset(get_formatter("custom"), {"all": str(src)}, tmp_path / f"o{k}", name="d", workers=workers)
        messages.append((str(info.value), info.value.where, info.value.hint))
        assert not (tmp_path / f"o{k}" / "d" / "train.jsonl").exists()  # atomic: nothing half-written
    assert messages[0] == messages[1]
    assert expected in messages[0][0] and messages[0][1] == f"{src}:201"


def test_ctrl_c_stops_a_parallel_prepare_cleanly(tmp_path):
    """SIGINT to the whole process group (what a terminal's Ctrl-C sends) mid-way through a parallel prepare:
    the command stops within seconds with exit 130 and a message, and leaves no output or temp file."""
    import os
    import signal
    import subprocess
    import sys
    import time

    if (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1) < 2:
        pytest.skip("the parallel path needs two CPUs")
    src = tmp_path / "big.jsonl"
    rows = _rows(3000)
    with open(src, "w", encoding="utf-8") as handle:
        for k in range(60):  # ~180k rows, well above the parallel threshold and several seconds of work
            handle.writelines(json.dumps(dict(r, id=f"{r['id']}-{k}"), ensure_ascii=False) + "\n" for r in rows)
    assert src.stat().st_size >= prepare_module.PARALLEL_MIN_BYTES
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "polyalign_lf.cli",
            "prepare",
            "custom",
            "--source",
            f"all={src}",
            "--out",
            str(out),
            "--name",
            "d",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # SIGINT back to its default: a suite started in the background of a non-interactive shell inherits it
        # ignored, and Python then installs no KeyboardInterrupt handler
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while not list(out.rglob(".*.tmp")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # the workers are converting chunks now
    assert proc.poll() is None, "prepare finished before it could be interrupted; make the input larger"
    os.killpg(proc.pid, signal.SIGINT)
    t0 = time.monotonic()
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("prepare did not stop within 30 s of Ctrl-C")
    assert time.monotonic() - t0 < 15
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
    assert not list(out.rglob(".*.tmp")) and not list(out.rglob("*.jsonl")), sorted(out.rglob("*"))
