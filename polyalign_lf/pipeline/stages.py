"""A small, resumable stage runner for ``polyalign run`` and ``polyalign demo``.

A :class:`Stage` is a list of commands (``polyalign …`` sub-commands or ``llamafactory-cli train
RECIPE``, always the real tools in subprocesses) or an in-process step, plus the files it produces.
When a stage finishes, a done-marker ``<work>/.stages/<name>.done.json`` records what ran and how long it
took; a later run skips a stage whose marker exists and whose outputs are all present, so an interrupted
pipeline resumes at the first unfinished stage. Each stage's output goes to ``<work>/logs/<name>.log``;
the console gets one progress line per stage (and the log's tail if a stage fails).
"""

from __future__ import annotations

import contextlib
import os
import resource
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from shutil import which

from polyalign_lf.errors import ConfigError, Interrupted, PolyalignError
from polyalign_lf.io import atomic_write, write_json
from polyalign_lf.options import option


class StageFailed(PolyalignError):
    """A pipeline stage's command exited with an error (its log names the cause)."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message + (f"\n  hint: {hint}" if hint else ""))


@dataclass(frozen=True)
class VllmServer:
    """A ``vllm serve MODEL`` the runner starts for a command (``polyalign generate --engine vllm``) and keeps for
    the stage's next commands of the same model: a stage starts each model's server once."""

    model: str
    command: str = "vllm serve"
    extra_args: str = ""


@dataclass
class Command:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    server: VllmServer | None = None  # the runner serves the model and adds --server-url/--served-model-name

    def display(self, root: Path) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items()))
        argv = list(self.argv)
        if self.server is not None:
            served = f"{self.server.command} {_short(self.server.model, root)}"
            argv += ["--server-url", f"<{served}, one per model and stage>"]
        if argv[:3] == [sys.executable, "-m", "polyalign_lf.cli"]:
            argv = ["polyalign", *argv[3:]]
        elif argv and Path(argv[0]).name == "llamafactory-cli":
            argv[0] = "llamafactory-cli"
        args = [_short(a, root) for a in argv]
        return (env + " " if env else "") + " ".join(shlex.quote(a) for a in args)


def _short(arg: str, root: Path) -> str:
    """Show paths inside the pipeline root relative to it (the plan reads like the commands users type)."""
    name, sep, rest = arg.partition("=")
    if sep and name and "/" not in name and rest.startswith("/"):
        return f"{name}={_short(rest, root)}"
    try:
        path = Path(arg)
        if path.is_absolute() and path != root and root in path.parents:
            return str(path.relative_to(root))
    except (ValueError, OSError):
        pass
    return arg


@dataclass
class Stage:
    name: str
    title: str
    commands: list[Command] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)
    action: Callable[[], None] | None = None  # an in-process step (runs after the commands)
    action_label: str = ""  # how the in-process step is described in the plan
    note: str = ""  # one more line for the plan (e.g. how many prompts a generation stage sends)
    marker_dir: Path | None = None  # where its done-marker lives (default: the runner's work dir); stages
    # shared by several cells (corpus, references) keep theirs next to their outputs, so a second model
    # of the same language skips them


def polyalign_command(*args: str | os.PathLike, env: dict[str, str] | None = None) -> Command:
    """``polyalign ARGS`` through this interpreter (works without the console script on PATH)."""
    return Command([sys.executable, "-m", "polyalign_lf.cli", *map(str, args)], dict(env or {}))


def llamafactory_train(recipe: str | os.PathLike, env: dict[str, str] | None = None) -> Command:
    """``llamafactory-cli train RECIPE``: LLaMA-Factory's own launcher (torchrun/DeepSpeed per its env vars)."""
    return Command([llamafactory_cli(), "train", str(recipe)], dict(env or {}))


def llamafactory_cli() -> str:
    candidate = Path(sys.executable).with_name("llamafactory-cli")
    if candidate.exists():
        return str(candidate)

    found = which("llamafactory-cli")
    if found:
        return found
    # Reported only when a training stage actually runs (a dry run still prints the plan).
    return "llamafactory-cli"


class StageRunner:
    """Runs stages in order with done-markers, logs and one progress line per stage."""

    def __init__(
        self, root: Path, work: Path, *, env: dict[str, str] | None = None, verbose: bool = False, out=None
    ) -> None:
        self.root = Path(root).resolve()
        self.work = Path(work).resolve()
        self.env = dict(env or {})
        self.verbose = verbose
        self.out = out or sys.stdout
        self.timings: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.status: dict[str, str] = {}

    def marker(self, stage: Stage) -> Path:
        return (Path(stage.marker_dir) if stage.marker_dir else self.work / ".stages") / f"{stage.name}.done.json"

    def log_path(self, stage: Stage) -> Path:
        return self.work / "logs" / f"{stage.name}.log"

    def is_done(self, stage: Stage) -> bool:
        return self.marker(stage).is_file() and all(Path(p).exists() for p in stage.outputs)

    def print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def describe(self, stages: Sequence[Stage]) -> None:
        """Print the plan: each stage, whether it is done, and the exact commands it runs."""
        self.print(f"pipeline root: {self.root}")
        self.print(f"work directory: {_short(str(self.work), self.root)}")
        for k, stage in enumerate(stages, 1):
            state = "done, will be skipped" if self.is_done(stage) else "to run"
            self.print(f"\n[{k}/{len(stages)}] {stage.name}: {stage.title}  ({state})")
            for command in stage.commands:
                self.print(f"    $ {command.display(self.root)}")
            if stage.action_label:
                self.print(f"    · {stage.action_label}")
            if stage.note:
                self.print(f"    · {stage.note}")
            for output in stage.outputs:
                self.print(f"    → {_short(str(output), self.root)}")

    def run(self, stages: Sequence[Stage], *, redo: Sequence[str] = ()) -> None:
        """Run ``stages`` in order. SIGTERM (like Ctrl-C's SIGINT) stops the running stage's process group,
        records the stage as interrupted in its log and raises :class:`Interrupted`; a rerun resumes."""
        with _terminate_as_exception():
            self._run_all(stages, redo)

    def _run_all(self, stages: Sequence[Stage], redo: Sequence[str]) -> None:
        total = len(stages)
        for k, stage in enumerate(stages, 1):
            prefix = f"[{k}/{total}] {stage.name:<18}"
            if stage.name not in redo and self.is_done(stage):
                self.status[stage.name] = "skipped (done)"
                self.print(
                    f"{prefix} ✓ already done — skipped (delete {_short(str(self.marker(stage)), self.root)} to redo)"
                )
                continue
            self.print(f"{prefix} … {stage.title}")
            start, cpu_start = time.perf_counter(), _cpu_seconds()
            self.marker(stage).unlink(missing_ok=True)
            self._run_stage(stage)
            elapsed, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
            missing = [str(p) for p in stage.outputs if not Path(p).exists()]
            if missing:
                raise StageFailed(
                    f"stage {stage.name!r} finished but did not produce {', '.join(missing)}; "
                    f"see {self.log_path(stage)}"
                )
            self.timings[stage.name] = elapsed
            self.cpu[stage.name] = cpu
            self.status[stage.name] = "ran"

            write_json(
                self.marker(stage),
                {
                    "stage": stage.name,
                    "seconds": round(elapsed, 2),
                    "cpu_seconds": round(cpu, 2),
                    "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "commands": [c.display(self.root) for c in stage.commands],
                    "outputs": [str(p) for p in stage.outputs],
                },
            )
            self.print(f"{prefix} ✓ done in {elapsed:.1f} s (CPU {cpu:.1f} s)")

    def _run_stage(self, stage: Stage) -> None:
        log = self.log_path(stage)
        log.parent.mkdir(parents=True, exist_ok=True)
        with (
            open(log, "w", encoding="utf-8", buffering=1) as handle,  # line-buffered: `tail -f` shows progress
            _ServerPool(log) as servers,
        ):
            for command in stage.commands:
                handle.write(f"$ {command.display(self.root)}\n")
                handle.flush()
                argv = list(command.argv)
                if command.server is not None:
                    url = servers.url(command.server)
                    argv += ["--server-url", url, "--served-model-name", command.server.model]
                # unbuffered: the log shows progress live (Python block-buffers stdout into a pipe)
                env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env, **command.env}
                try:
                    proc = subprocess.Popen(
                        argv,
                        cwd=self.root,
                        env=env,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        text=True,
                        encoding="utf-8",
                        errors="replace",
                        bufsize=1,
                        # its own process group: a signal reaches the whole tree (torchrun's workers too)
                        # through us, and we wait for it instead of leaving it behind
                        start_new_session=True,
                    )
                except FileNotFoundError as exc:
                    raise StageFailed(
                        f"stage {stage.name!r}: cannot start {command.argv[0]!r} ({exc.strerror})",
                        hint="is LLaMA-Factory installed in this environment? `polyalign doctor` checks",
                    ) from None
                assert proc.stdout is not None
                try:
                    for line in proc.stdout:
                        handle.write(line)
                        if self.verbose:
                            self.out.write("    " + line)
                            self.out.flush()
                    code = proc.wait()
                except (KeyboardInterrupt, Interrupted) as exc:
                    signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
                    self.status[stage.name] = "interrupted"
                    _stop_process_group(proc, signum, handle)
                    handle.write(
                        f"[polyalign] stage {stage.name!r} interrupted by {signal.Signals(signum).name} at "
                        f"{time.strftime('%Y-%m-%dT%H:%M:%S')}; rerun the same command to run it again\n"
                    )
                    handle.flush()
                    raise Interrupted(
                        signum,
                        f"stage {stage.name!r} interrupted by {signal.Signals(signum).name} (its log: {log}); "
                        "finished stages are kept: rerun the same command to resume from this one",
                    ) from None
                handle.flush()
                if code != 0:
                    raise StageFailed(
                        f"stage {stage.name!r} failed: `{command.display(self.root)}` exited with {code}.\n"
                        f"--- last lines of {log} ---\n{_tail(log)}",
                        hint="fix the cause and rerun the same command: finished stages are skipped",
                    )
            if stage.action is not None:
                handle.write(f"· {stage.action_label or stage.name}\n")
                stage.action()


class _ServerPool:
    """The vLLM server of the stage's current model: started on first use, kept while the next commands use the
    same model, stopped when another model's turn comes and when the stage ends (or fails)."""

    def __init__(self, log: Path):
        self.log = log
        self.current: VllmServer | None = None
        self.stack = contextlib.ExitStack()
        self.started = 0
        self._url = ""

    def __enter__(self) -> _ServerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.stack.close()

    def url(self, server: VllmServer) -> str:
        from polyalign_lf.inference.engines.vllm_server import managed_vllm_server

        if server != self.current:
            self.stack.close()
            self.stack = contextlib.ExitStack()
            self.started += 1
            log = self.log.with_name(f"{self.log.stem}.vllm{self.started}.log")
            self._url = self.stack.enter_context(
                managed_vllm_server(server.model, command=server.command, extra_args=server.extra_args, log_path=log)
            )
            self.current = server
        return self._url


# How long a stopped stage's processes get to exit after the signal is forwarded before they are killed.
STOP_GRACE_S = 20.0


def _stop_process_group(proc: subprocess.Popen, signum: int, handle) -> None:
    """Forward ``signum`` to the child's process group, keep its last output in the log, wait up to
    :data:`STOP_GRACE_S`, then kill what is left: no training process outlives the stage."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signum)
    deadline = time.monotonic() + STOP_GRACE_S
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        if proc.stdout is not None:
            with contextlib.suppress(OSError, ValueError):
                handle.write(proc.stdout.read())
    except (KeyboardInterrupt, Interrupted):  # a second signal: stop waiting, kill now
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def _terminate_as_exception():
    """While stages run, SIGTERM raises :class:`Interrupted` (Python's default would end the process on the
    spot, leaving the child running and its stage unrecorded). Only the main thread can install handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Interrupted(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process and its finished children: the load-independent cost."""

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def select_stages(stages: Sequence[Stage], names: Sequence[str] | None) -> list[Stage]:
    """Keep the stages named in ``names`` (in pipeline order); unknown names are a clear error."""
    if not names:
        return list(stages)
    known = [s.name for s in stages]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"unknown stage(s) {', '.join(unknown)}; this pipeline's stages are: {', '.join(known)}")
    wanted = set(names)
    return [s for s in stages if s.name in wanted]


def write_text_atomic(path: Path, text: str) -> None:

    with atomic_write(path) as handle:
        handle.write(text)


__all__ = [
    "Command",
    "Stage",
    "StageRunner",
    "StageFailed",
    "polyalign_command",
    "llamafactory_train",
    "select_stages",
    "write_text_atomic",
]


@dataclass(kw_only=True)
class StageOptions:
    """The options of every staged command (`run`, `demo`, `study`): which stages, which again, plan only, logs."""

    stages: str | None = option(
        None, help="comma-separated stages to run (default: all, in order); see --dry-run for the names"
    )
    redo: str = option("", help="comma-separated stages to run again even if done")
    dry_run: bool = option(False, help="print the plan (stages, exact commands, outputs) and exit")
    verbose: bool = option(False, aliases=("-v",), help="stream every command's output (default: logs only)")


def comma_names(text: str | None) -> list[str]:
    """``"a, b,,c"`` → ``["a", "b", "c"]`` (a comma-separated option such as --stages)."""
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def run_stages(
    stages: Sequence[Stage], root: Path, log_dir: Path, options: StageOptions, *, env: dict[str, str], banner: str
) -> StageRunner:
    """Run the stages ``options`` chooses (all by default; ``redo`` ones again), resuming the others; with
    ``dry_run``, describe them instead."""
    chosen = select_stages(stages, comma_names(options.stages))
    again = comma_names(options.redo)
    select_stages(stages, again)  # validates the names
    runner = StageRunner(root, log_dir, env=env, verbose=options.verbose)
    if options.dry_run:
        runner.describe(chosen)
        return runner
    runner.print(banner)
    runner.run(chosen, redo=again)
    return runner
    runner.print(banner)
    runner.run(chosen, redo=again)
    return runner
