"""One writer per output: a second writer of a folder or a predictions file is refused with the holder's pid,
a lock left by a killed process is taken over, and dataset_info.json merges wait for each other."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from polyalign_lf.errors import InputError
from polyalign_lf.io import replace_folder


def _hold_lock(path, seconds: float) -> subprocess.Popen:
    code = (
        "import sys, time\n"
        "from polyalign_lf.io import output_lock\n"
        f"with output_lock({str(path)!r}):\n"
        "    print('held', flush=True)\n"
        f"    time.sleep({seconds})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_of_a_folder_is_refused_with_the_holders_pid(tmp_path):
    out = tmp_path / "critic"
    holder = _hold_lock(out, 30)
    try:
        with pytest.raises(InputError, match=f"pid {holder.pid}"):
            with replace_folder(out) as building:
                (building / "x").write_text("mine")
        assert not out.exists()  # nothing written, nothing mixed
    finally:
        holder.kill()
        holder.wait()
    # the killed holder's lock is stale: the next writer takes over
    with replace_folder(out) as building:
        (building / "x").write_text("ok")
    assert (out / "x").read_text() == "ok" and not list(tmp_path.glob(".critic.lock*"))


def test_a_second_generate_on_one_predictions_file_is_refused(tmp_path):
    from polyalign_lf.inference.output import PredictionWriter

    out = tmp_path / "pred.jsonl"
    first = PredictionWriter(out, {"a": 1}, ["r1", "r2"])
    with pytest.raises(InputError, match="is writing this output right now"):
        PredictionWriter(out, {"a": 1}, ["r1", "r2"])
    first.add({"id": "r1", "prediction": "x"})
    first.add({"id": "r2", "prediction": "y"})
    assert first.finish()
    PredictionWriter(out, {"a": 1}, ["r1", "r2"], overwrite=True).close()  # released: the next run may write


def test_dataset_info_merges_wait_for_each_other(tmp_path):
    from polyalign_lf.data.export import merge_dataset_info

    path = tmp_path / "dataset_info.json"
    errors = []

    def merge(k):
        try:
            merge_dataset_info(path, {f"d{k}": {"file_name": f"d{k}.json"}})
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=merge, args=(k,)) for k in range(6)]
    holder = _hold_lock(path, 1.0)  # another process merging right now: everyone waits for it
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    holder.wait()
    assert not errors and time.monotonic() - start >= 0.5
    assert set(json.loads(path.read_text())) == {f"d{k}" for k in range(6)}
