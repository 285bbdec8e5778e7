"""Signals to an orchestrating command: the running stage's whole process tree is stopped (not left behind),
the stage is recorded as interrupted in its log, the exit code is the shell's (130 SIGINT, 143 SIGTERM), and a
rerun resumes from the interrupted stage. Ctrl-C while the console script imports exits quietly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ORCHESTRATOR = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from polyalign_lf.cli import run_command
    from polyalign_lf.pipeline.stages import Command, Stage, StageRunner

    root = Path(sys.argv[1])
    # the slow stage starts a grandchild that would outlive a naive parent, then waits
    slow = (
        "import subprocess, sys, time, pathlib;"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']);"
        "pathlib.Path('grandchild.pid').write_text(str(child.pid));"
        "print('slow stage ' + 'started', flush=True); time.sleep(120)"  # the log also shows the command line
    )
    stages = [
        Stage("first", "quick", [Command([sys.executable, "-c", "open('first.txt', 'w').write('1')"])],
              [root / "first.txt"]),
        Stage("slow", "slow", [Command([sys.executable, "-c", slow])], [root / "slow.txt"]),
    ]
    runner = StageRunner(root, root / "work")
    sys.exit(run_command("orchestrator", lambda args: runner.run(stages), None))
    """
)


def _interruptible() -> None:
    """In the child before exec: SIGINT back to its default. A suite started in the background of a non-interactive
    shell inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler (Ctrl-C would do nothing)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is not a running process
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_stops_the_stage_tree_and_a_rerun_resumes(tmp_path, signum, code):
    script = tmp_path / "orchestrator.py"
    script.write_text(ORCHESTRATOR, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible,
    )
    log = tmp_path / "work" / "logs" / "slow.log"
    deadline = time.monotonic() + 60
    while not (log.exists() and "slow stage started" in log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (tmp_path / "grandchild.pid").exists(), proc.communicate(timeout=5)
    grandchild = int((tmp_path / "grandchild.pid").read_text())
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err and "interrupted by" in err and "rerun the same command" in err
    text = log.read_text()
    assert "slow stage started" in text and f"interrupted by {signal.Signals(signum).name}" in text
    deadline = time.monotonic() + 10
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(grandchild), "the stage's grandchild outlived the interrupted command"
    assert (tmp_path / "work" / ".stages" / "first.done.json").exists()
    assert not (tmp_path / "work" / ".stages" / "slow.done.json").exists()
    # a rerun skips the finished stage and starts the interrupted one again
    rerun = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the rerun's own log of the stage (the old one ends "interrupted")
        text = log.read_text()
        if "slow stage started" in text and "interrupted" not in text:
            break
        time.sleep(0.1)
    rerun.send_signal(signal.SIGTERM)
    out, _ = rerun.communicate(timeout=60)
    assert "first" in out and "already done" in out


def test_ctrl_c_while_importing_is_quiet(monkeypatch, capsys):
    """The console script imports the command line inside its guard: an interrupt there is exit 130, one line."""
    import builtins

    from polyalign_lf import _entry

    real_import = builtins.__import__

    def interrupted_import(name, *args, **kwargs):
        if name == "polyalign_lf.cli":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "polyalign_lf.cli", raising=False)
    monkeypatch.setattr(builtins, "__import__", interrupted_import)
    assert _entry.main() == 130
    assert capsys.readouterr().err == "polyalign: interrupted\n"
