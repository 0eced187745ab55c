import os

os.environ.setdefault("DEEPGALLERY_QUIET", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op thread for a test module (tiny tensors: more threads only contend on a busy 2-core machine);
    the previous setting is restored for the other modules."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def run_cli(capsys):
    """The `deepgallery` command in this process: ``run_cli("run", "style", ...) -> (exit code, stdout, stderr)``,
    stderr stripped (a user mistake is one line of it)."""
    from deepgallery.cli import main

    def call(*argv):
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err.strip()

    return call


def torchrun(nproc: int, *argv, timeout: float = 600, cwd=None):
    """`torchrun --nproc_per_node NPROC -m deepgallery ARGV` on the CPU (gloo), one thread per process, on a free
    port; returns the CompletedProcess. Used by the tests that prove a training command gives the same result on
    two processes as on one."""
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DEEPGALLERY_QUIET": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc), "--master_addr",
           "127.0.0.1", "--master_port", str(port), "-m", "deepgallery", *map(str, argv)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)


@pytest.fixture
def torchrun_cli():
    """`torchrun` (above) as a fixture."""
    return torchrun


@pytest.fixture
def bad_input(tmp_path, run_cli, monkeypatch):
    """``bad_input(app, argv, needle)``: `deepgallery run APP ARGV` must fail with one line naming NEEDLE, exit 2, and
    write nothing (not even a temporary file). ARGV may use {bad} (a text file named .png), {empty} (an empty
    .png), {ok} (a 64x64 random PNG), {blocked} (a file where a folder is expected) and {out} (a fresh path).
    Each app's bad-input cases live in its own test file (older apps: tests/test_bad_inputs.py)."""
    import numpy as np

    from deepgallery.core.media import save_image

    monkeypatch.chdir(tmp_path)  # default outputs, if any, would land here and be seen
    (tmp_path / "bad.png").write_text("this is a text file, not a PNG\n" * 20)
    (tmp_path / "empty.png").write_bytes(b"")
    save_image(tmp_path / "ok.png", (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8))
    (tmp_path / "blocked").write_text("a file where a folder is expected")
    names = {"bad": tmp_path / "bad.png", "empty": tmp_path / "empty.png", "ok": tmp_path / "ok.png",
             "blocked": tmp_path / "blocked", "out": tmp_path / "result"}

    def check(app: str, argv, needle: str, verb: str = "run"):
        before = sorted(p.name for p in tmp_path.rglob("*"))
        code, _, err = run_cli(verb, app, *(str(a).format(**names) for a in argv))
        assert code == 2, err
        assert len(err.splitlines()) == 1 and err.startswith("deepgallery: error:"), err
        assert "Traceback" not in err and needle in err, err
        assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written, not even a temporary file
        return err

    check.dir = tmp_path
    return check
