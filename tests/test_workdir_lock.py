"""One run per work directory, and disk errors as one line (issue 14)."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clawloop_synth.errors import InputError
from clawloop_synth.workdir import LOCK_NAME, workdir_lock

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "clawloop_synth", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != LOCK_NAME}


@pytest.mark.parametrize("command", [["run", "--workdir"], ["mine", "-w"], ["difficulty", "-w"], ["ingest", "-w"]])
def test_a_second_run_on_a_busy_work_directory_refuses_with_one_line(tmp_path: Path, command: list[str]) -> None:
    workdir = tmp_path / "wd"
    workdir.mkdir()
    (workdir / "manifest.json").write_text("{}\n")
    before = snapshot(workdir)
    extra = ["-i", str(tmp_path / "none.jsonl")] if command[0] == "ingest" else []
    with workdir_lock(workdir, "clawloop-synth run"):  # this process stands for the first run
        done = cli(*command, str(workdir), *extra, cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(workdir) in lines[0] and f"pid {os.getpid()}" in lines[0] and "another run" in lines[0]
    assert snapshot(workdir) == before  # the refused run wrote nothing


def test_the_lock_is_reentrant_in_one_process_and_released_after(tmp_path: Path) -> None:
    with workdir_lock(tmp_path), workdir_lock(tmp_path):
        pass
    with workdir_lock(tmp_path):  # released: can be taken again
        pass


def test_a_dead_holder_does_not_block(tmp_path: Path) -> None:
    code = ("import sys, time; from pathlib import Path; from clawloop_synth.workdir import workdir_lock\n"
            "with workdir_lock(Path(sys.argv[1]), 'clawloop-synth run'):\n"
            "    print('held', flush=True); time.sleep(600)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(InputError, match=f"pid {holder.pid}"), workdir_lock(tmp_path):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert str(holder.pid) in (tmp_path / LOCK_NAME).read_text()  # the stale file is still there
    deadline = time.monotonic() + 30
    while True:  # the kernel released the flock with the process
        try:
            with workdir_lock(tmp_path):
                break
        except InputError:
            assert time.monotonic() < deadline
            time.sleep(0.05)


@pytest.mark.parametrize(("code", "words"), [(errno.ENOSPC, "the disk is full"),
                                             (errno.EROFS, "read-only")])
def test_disk_full_and_read_only_give_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str], code: int, words: str) -> None:
    import clawloop_synth.cli as cli_module
    import clawloop_synth.ingest.stage as ingest_stage  # imported first: patched below by name only

    def broken(path: Path, payload: object) -> None:
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(ingest_stage, "write_json", broken)
    traces = tmp_path / "t.jsonl"
    traces.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n')
    monkeypatch.setattr(sys, "argv", ["clawloop-synth", "ingest", "-i", str(traces), "-w", str(tmp_path / "wd")])
    with pytest.raises(SystemExit) as info:
        cli_module.main()
    assert info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err


def test_a_reading_command_does_not_create_a_missing_work_directory(tmp_path: Path) -> None:
    done = cli("mine", "-w", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "nowhere").exists()
