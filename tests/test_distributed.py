"""core.distributed: two gloo processes under torchrun take the same steps as one process with the whole batch."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest
import torch

from deepgallery.core import distributed

# A tiny regression trained with the core helpers; run alone and under torchrun, it saves its final weights.
SCRIPT = textwrap.dedent("""
    import sys, torch
    from deepgallery.core import distributed as D
    ctx = D.start("cpu")
    torch.manual_seed(0)
    x = torch.randn(64, 5); y = x @ torch.arange(5.0) + 0.1 * torch.randn(64)
    data = torch.utils.data.TensorDataset(x, y)
    model = D.wrap(torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)), ctx)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loader = D.loader(data, ctx, batch_size=16, seed=3)
    losses = []
    for epoch in range(3):
        D.set_epoch(loader, epoch)
        for xb, yb in loader:
            loss = ((model(xb).squeeze(1) - yb) ** 2).mean()
            opt.zero_grad(); loss.backward(); opt.step()
            losses.append(D.mean(loss.item(), ctx))
    # generated batches: every rank makes the same one and trains on its shard
    g = torch.Generator().manual_seed(7)
    xb = torch.randn(16, 5, generator=g); yb = xb.sum(1)
    xs, ys = D.shard((xb, yb), ctx)
    loss = ((model(xs).squeeze(1) - ys) ** 2).mean()
    opt.zero_grad(); loss.backward(); opt.step()
    if ctx.is_main:
        state = {k: v for k, v in D.unwrap(model).state_dict().items()}
        state["losses"] = torch.tensor(losses)
        torch.save(state, sys.argv[1])
    D.finish(ctx)
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one, two = tmp_path / "one.pt", tmp_path / "two.pt"
    subprocess.run([sys.executable, str(script), str(one)], check=True, env=env, timeout=300)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--master_addr", "127.0.0.1", "--master_port", str(_free_port()), str(script), str(two)],
                          env=env, timeout=300, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a = torch.load(one, weights_only=True)
    b = torch.load(two, weights_only=True)
    assert a["losses"].shape == b["losses"].shape == (12,)  # 3 epochs x 64/16 global batches
    assert a["losses"][-1] < a["losses"][0] / 2  # it learned
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5)


def test_single_process_is_a_plain_run():
    ctx = distributed.start("cpu")
    assert (ctx.rank, ctx.world, ctx.is_main, ctx.active) == (0, 1, True, False)
    model = torch.nn.Linear(2, 1)
    assert distributed.wrap(model, ctx) is model
    batch = torch.arange(6)
    assert distributed.shard(batch, ctx) is batch
    assert distributed.mean(3.0, ctx) == 3.0


def test_shard_splits_a_global_batch_by_rank():
    parts = [distributed.shard(torch.arange(8), distributed.Dist(rank=r, world=2)) for r in range(2)]
    assert torch.equal(torch.cat(parts), torch.arange(8))
    with pytest.raises(distributed.UserError, match="cannot be split evenly"):
        distributed.shard(torch.arange(1), distributed.Dist(rank=0, world=2))
    with pytest.raises(distributed.UserError, match="use a multiple of 2"):
        distributed.shard(torch.arange(5), distributed.Dist(rank=1, world=2))
