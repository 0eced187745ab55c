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
