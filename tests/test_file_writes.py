"""Writes: file modes, temp files of writers that are gone, concurrent writers, the lock."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import rnnkit
from rnnkit import nn
from rnnkit.errors import FileLockedError
from rnnkit.io import file_lock, read_archive, write_archive, write_text_atomic
from rnnkit.io._atomic import remove_stale_temp_files

SRC = os.path.join(os.path.dirname(__file__), os.pardir, "src")


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _mode(path) -> int:
    return os.stat(path).st_mode & 0o777


def test_new_files_get_the_umask_mode_and_old_files_keep_theirs(tmp_path, umask):
    rnnkit.save_model(nn.Linear(2, 2), tmp_path / "m.rnnkit")
    write_text_atomic(tmp_path / "c.json", "{}")
    assert _mode(tmp_path / "m.rnnkit") == 0o644 and _mode(tmp_path / "c.json") == 0o644
    umask(0o077)
    write_archive(tmp_path / "p.rnnkit", {"format": "x"}, {})
    assert _mode(tmp_path / "p.rnnkit") == 0o600
    os.chmod(tmp_path / "m.rnnkit", 0o640)
    rnnkit.save_model(nn.Linear(2, 2), tmp_path / "m.rnnkit")
    assert _mode(tmp_path / "m.rnnkit") == 0o640


def test_a_missing_directory_and_a_full_disk(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="cannot write .*m.rnnkit: no directory .*nowhere"):
        rnnkit.save_model(nn.Linear(2, 2), tmp_path / "nowhere" / "m.rnnkit")
    rnnkit.save_model(nn.Linear(2, 2, rng=0), tmp_path / "m.rnnkit")
    before = (tmp_path / "m.rnnkit").read_bytes()

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        rnnkit.save_model(nn.Linear(2, 2, rng=1), tmp_path / "m.rnnkit")
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["m.rnnkit"] and (tmp_path / "m.rnnkit").read_bytes() == before


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_only_temp_files_whose_writer_is_gone_are_removed(tmp_path):
    target = tmp_path / "ck.rnnkit"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {
            "dead": f".tmp-ck.rnnkit-{_dead_pid()}-{'a' * 16}",
            "alive": f".tmp-ck.rnnkit-{sleeper.pid}-{'b' * 16}",
            "mine": f".tmp-ck.rnnkit-{os.getpid()}-{'c' * 16}",          # another thread of this process
            "alive_but_old": f".tmp-ck.rnnkit-{sleeper.pid}-{'d' * 16}",
            "legacy": ".tmp-ck.rnnkit-x1_y2z3q",                         # rnnkit 0.1's mkstemp names
            "other_file": f".tmp-ck.rnnkit.bak-{_dead_pid()}-{'e' * 16}",
            "not_a_temp": ".tmp-ck.rnnkit-notes-v2.txt",
        }
        for name in names.values():
            (tmp_path / name).write_bytes(b"partial")
        old = time.time() - 2 * 24 * 3600
        os.utime(tmp_path / names["alive_but_old"], (old, old))
        write_archive(target, {"format": "x"}, {"a": np.zeros(2)})
        left = set(os.listdir(tmp_path))
        assert left == {"ck.rnnkit", names["alive"], names["mine"], names["other_file"], names["not_a_temp"]}
        assert remove_stale_temp_files(str(target)) == []
    finally:
        sleeper.kill()
        sleeper.wait()


def _writer(path: str, wid: int, n: int, queue) -> None:
    failures = 0
    for i in range(n):
        model = nn.Linear(3, 4)
        for p in model.parameters():
            p.data[...] = wid * 1000 + i
        try:
            rnnkit.save_model(model, path, metadata={"writer": wid, "i": i})
        except Exception as err:             # noqa: BLE001 -- counted and reported by the test
            failures += 1
            queue.put(f"writer {wid} save {i}: {type(err).__name__}: {err}")
    queue.put(("done", failures))


def _reader(path: str, n: int, queue) -> None:
    bad = 0
    for _ in range(n):
        try:
            model, meta = rnnkit.load_model(path, return_metadata=True)
        except FileNotFoundError:
            continue
        except Exception as err:             # noqa: BLE001 -- counted and reported by the test
            bad += 1
            queue.put(f"read: {type(err).__name__}: {err}")
            continue
        expected = meta["writer"] * 1000 + meta["i"]
        if any(not np.all(p.data == expected) for p in model.parameters()):
            bad += 1
            queue.put(f"read: a mixed file (metadata says {expected})")
    queue.put(("done", bad))


def test_concurrent_writers_all_succeed_and_the_file_is_always_whole(tmp_path):
    path = str(tmp_path / "shared.rnnkit")
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    n_writers, n_saves = 4, 40
    procs = [ctx.Process(target=_writer, args=(path, w, n_saves, queue)) for w in range(n_writers)]
    procs.append(ctx.Process(target=_reader, args=(path, 150, queue)))
    for p in procs:
        p.start()
    messages, done = [], 0
    while done < len(procs):
        item = queue.get(timeout=300)
        if isinstance(item, tuple):
            done += 1
            assert item[1] == 0, messages
        else:
            messages.append(item)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert messages == []
    meta, _ = read_archive(path, "rnnkit.model")
    assert meta["model"]["parameters"] == ["weight", "bias"]
    assert os.listdir(tmp_path) == ["shared.rnnkit"]               # no temp file left behind


def test_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
    target = tmp_path / "run"
    with file_lock(target, "runs/x") as lock_path:
        assert lock_path == str(target) + ".lock"
        with pytest.raises(FileLockedError, match=rf"run\.lock: another process \(pid {os.getpid()}\) is using runs/x"):
            with file_lock(target, "runs/x"):
                pass
    with file_lock(target):                          # released
        pass


def test_lock_is_released_when_its_holder_is_killed(tmp_path):
    target = str(tmp_path / "run")
    code = ("import sys, time; sys.path.insert(0, sys.argv[2]); from rnnkit.io import file_lock\n"
            "with file_lock(sys.argv[1]):\n    print('locked', flush=True); time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, target, SRC], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(FileLockedError, match=f"pid {holder.pid}"):
            with file_lock(target):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    with file_lock(target):
        pass
