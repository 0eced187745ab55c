"""neuralcrypto: the networks, the losses, training that learns, the paper's evaluation, the CLI on bad input."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepgallery.apps.neuralcrypto import APP, entry
from deepgallery.apps.neuralcrypto.attacks import (
    IND_CPA,
    Protocol,
    attack,
    challenged,
    eavesdropped,
    linear_eve,
    train_attacker,
)
from deepgallery.apps.neuralcrypto.bench import summarize
from deepgallery.apps.neuralcrypto.bits import blocks_to_text, printable, text_to_blocks
from deepgallery.apps.neuralcrypto.evaluate import EvalConfig, evaluate, judge
from deepgallery.apps.neuralcrypto.hardened import (
    HardenConfig,
    distinct_keystreams,
    harden,
    keystream_correlation,
    one_time_pad_map,
    ship,
)
from deepgallery.apps.neuralcrypto.model import MLP, BitConv, NetConfig, StreamAlice, Trio, load_trained
from deepgallery.apps.neuralcrypto.train import TrainConfig, alice_bob_loss, bits_wrong, train
from deepgallery.core import checkpoint
from deepgallery.core.errors import UserError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ------------------------------------------------------------------------------------------ the network
def test_bitconv_is_the_papers_convolution():
    """BitConv equals a 1-D convolution with TensorFlow "SAME" padding, for both kinds of layer used."""
    torch.manual_seed(0)
    x = torch.randn(5, 32, 2)  # (B, L, C_in)
    for window, stride in ((4, 1), (2, 2)):
        conv = BitConv(window, 2, 3, stride)
        # weight (C_out, window * C_in) in (position, channel) order -> conv1d layout (C_out, C_in, window)
        w = conv.weight.detach().reshape(3, window, 2).permute(0, 2, 1)
        pad = max((32 // stride - 1) * stride + window - 32, 0)
        ref = F.conv1d(F.pad(x.transpose(1, 2), (pad // 2, pad - pad // 2)), w, conv.bias.detach(), stride=stride)
        assert torch.allclose(conv(x), ref.transpose(1, 2), atol=1e-6)


def test_shapes_follow_section_2_5():
    trio = Trio(NetConfig(16))
    p, k = torch.ones(3, 16), -torch.ones(3, 16)
    c = trio.encrypt(p, k)
    assert c.shape == (3, 16) and trio.decrypt(c, k).shape == (3, 16) and trio.eavesdrop(c).shape == (3, 16)
    assert c.abs().max() < 1  # tanh output
    assert trio.alice.fc.in_features == 32 and trio.eve.fc.in_features == 16 and trio.eve.fc.out_features == 32


class _Fixed:
    """A stand-in trio whose outputs are given, to check the loss formula."""

    def __init__(self, bob, eve):
        self.bob, self.eve = bob, eve

    def encrypt(self, p, k):
        return p

    def decrypt(self, c, k):
        return self.bob

    def eavesdrop(self, c):
        return self.eve


def test_losses_match_the_paper():
    p = torch.tensor([[1.0, -1.0, 1.0, -1.0]])
    assert bits_wrong(-p, p).item() == 4 and bits_wrong(p, p).item() == 0 and bits_wrong(p * 0, p).item() == 2
    # Bob perfect, Eve at N/2 (random guessing): loss 0. Eve perfect: the Eve term is 1. Eve all wrong: also 1.
    assert alice_bob_loss(_Fixed(p, p * 0), p, p).item() == pytest.approx(0.0)
    assert alice_bob_loss(_Fixed(p, p), p, p).item() == pytest.approx(1.0)
    assert alice_bob_loss(_Fixed(p, -p), p, p).item() == pytest.approx(1.0)
    assert alice_bob_loss(_Fixed(-p, p * 0), p, p).item() == pytest.approx(1.0)  # Bob all wrong: 4 / N


# ------------------------------------------------------------------------------------------ training
def test_short_training_bob_learns_and_resumes(tmp_path):
    cfg = TrainConfig(n_bits=8, batch_size=256, lr=0.01, steps=300, eval_every=25, eve_steps_per_step=1, seed=0)
    first = train(TrainConfig(**{**cfg.__dict__, "steps": 150}), tmp_path / "ck")
    result = train(cfg, tmp_path / "ck", resume=True)
    assert result.step == 300 and result.history.steps[0] == 25 and result.history.steps[-1] == 300
    assert result.history.bob[: len(first.history.bob)] == first.history.bob  # resumed, not restarted
    assert result.history.bob[0] > 3.5  # random: N/2 = 4 bits wrong at first ...
    assert min(result.history.bob) < 2.0  # ... then Bob reads most of Alice's bits
    _, _, meta = checkpoint.load(tmp_path / "ck")
    assert meta["step"] == 300 and meta["_optimizer"]  # both Adam states stored for resuming


def test_fresh_eve_probe_replaces_a_weak_adversary_before_stopping(monkeypatch):
    """When the thresholds hold, a fresh Eve is retrained; if she reads the cipher she becomes the adversary
    and training goes on, and only a probe she fails stops it."""
    from deepgallery.apps.neuralcrypto import train as train_module

    calls = []

    def fake_probe(trio, steps, *args, **kwargs):
        calls.append(steps)
        eve = trio.fresh_eve()
        state = {k: torch.full_like(v, 0.125) for k, v in eve.state_dict().items()}
        return ([1.0] if len(calls) == 1 else [8.0]), state  # the first probe reads the cipher, the second fails

    monkeypatch.setattr(train_module, "retrain_fresh_eve", fake_probe)
    cfg = TrainConfig(n_bits=8, batch_size=64, steps=100, eval_every=10, eve_steps_per_step=0,
                      stop_bob_bits=8.1, stop_eve_bits=2.0, probe_eve_steps=77, seed=0)
    result = train(cfg)
    assert calls == [77, 77]
    assert result.history.probes == [[10, 1.0], [20, 8.0]]
    assert result.converged_step == 20  # not 10: the first probe broke the cipher
    # the probe's Eve replaced the co-trained one (Eve does not train here, so her weights are the probe's)
    assert all(torch.all(v == 0.125) for v in result.trio.eve.state_dict().values())
    assert result.optimizers.eve.param_groups[0]["params"][0] is next(result.trio.eve.parameters())

    calls.clear()
    off = train(TrainConfig(**{**cfg.__dict__, "probe_eve_steps": 0}))
    assert calls == [] and off.converged_step == 10 and off.history.probes == []


# ------------------------------------------------------------------------------------------ evaluation
class _OneTimePad(Trio):
    """Alice = P xor K (a product in {-1, 1}), Bob = C xor K: perfectly secret, Bob always right."""

    def encrypt(self, p, k):
        return p * k

    def decrypt(self, c, k):
        return c * k


class _NoCipher(Trio):
    """Alice sends the plaintext as it is: any fresh Eve learns to read it."""

    def encrypt(self, p, k):
        return p

    def decrypt(self, c, k):
        return c


def test_evaluation_tells_a_cipher_from_no_cipher():
    cfg = EvalConfig(eves=2, eve_steps=200, batch_size=256, lr=0.01, measure_every=50, measure_examples=2048,
                     success_bob_bits=0.05, success_eve_bits=3.5)  # N = 8: guessing gets 4 wrong
    secret = evaluate(_OneTimePad(NetConfig(8)), cfg)
    assert secret.bob_bits == 0 and secret.best_eve_bits > 3.7 and secret.success
    assert len(secret.eve_bits_each) == 2 and secret.best_eve_state is not None
    plain = evaluate(_NoCipher(NetConfig(8)), cfg)
    assert plain.bob_bits == 0 and plain.best_eve_bits < 2.0 and not plain.success


# ------------------------------------------------------------------------------------------ the attacker suite
class _Affine(Trio):
    """C = A P + key offset: Bob decrypts, and so does a least-squares Eve (issue 18's finding, made exact)."""

    def encrypt(self, p, k):
        g = torch.Generator().manual_seed(5)
        a = torch.linalg.qr(torch.randn(p.shape[1], p.shape[1], generator=g))[0]
        return (p @ a + 0.3 * k) / 3


_TINY = Protocol(eves=1, max_steps=300, batch_size=256, eval_every=100, eval_examples=4096, lr=0.005,
                 linear_examples=8192, seed=0)


def test_linear_eve_reads_an_affine_cipher_but_not_the_one_time_pad():
    g = torch.Generator().manual_seed(0)
    assert linear_eve(_Affine(NetConfig(8)), _TINY, g) < 2.0  # guessing gets 4 of 8 wrong
    assert linear_eve(_OneTimePad(NetConfig(8)), _TINY, g) > 3.9


def test_mlp_eve_reads_no_cipher_and_not_the_one_time_pad():
    plain = attack(_NoCipher(NetConfig(8)), "mlp", Protocol(**{**_TINY.__dict__, "max_steps": 100}))
    assert plain.bits_wrong < 0.5 and len(plain.each) == 2  # both MLP sizes ran
    secret = attack(_OneTimePad(NetConfig(8)), "paper", _TINY)
    assert secret.bits_wrong > 3.7


def test_chosen_plaintext_eve_sees_pairs_under_the_same_key():
    """[P', C', C] with C' = Alice(P', K) and C = Alice(P, K) for the same K: for the pad, C' * P' is the key."""
    trio = _OneTimePad(NetConfig(8))
    inputs, plain = eavesdropped(trio, 64, torch.Generator().manual_seed(0), known_pairs=1)
    assert inputs.shape == (64, 24)
    p_known, c_known, c = inputs[:, :8], inputs[:, 8:16], inputs[:, 16:]
    assert torch.equal(c * c_known * p_known, plain)  # Shannon: key reuse gives the pad away


def test_the_indistinguishability_game_uses_a_fresh_key_and_the_pad_wins_it():
    """[P0, P1, C]: C encrypts the plaintext the coin chose under a fresh key. A small Eve learns to tell them apart
    when Alice sends the plaintext, and stays at a coin flip (N/2 on the bits-wrong scale) against the pad."""
    g = torch.Generator().manual_seed(0)
    inputs, coin = challenged(_NoCipher(NetConfig(8)), 256, g)
    first, second, c = inputs.split(8, dim=1)
    assert inputs.shape == (256, 24) and set(coin.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(torch.where(coin > 0, second, first), c)  # C encrypts the chosen one
    tiny = Protocol(**{**_TINY.__dict__, "lr": 0.01})
    read, _, _ = train_attacker(_NoCipher(NetConfig(8)), lambda: MLP(24, 1, 1, 64), tiny, g, IND_CPA)
    assert read < 0.5  # 8 x her error rate: she is almost always right
    pad, _, _ = train_attacker(_OneTimePad(NetConfig(8)), lambda: MLP(24, 1, 1, 64), tiny, g, IND_CPA)
    assert pad > 3.6


def test_the_one_time_pad_test_tells_a_pad_from_another_cipher():
    class _PermutedPad(Trio):
        def encrypt(self, p, k):
            return -p.roll(1, dims=1) * k.roll(3, dims=1)  # C_i = P_(i - 1) xor K_(i - 3)

    otp = one_time_pad_map(_PermutedPad(NetConfig(8)), examples=2048)
    assert min(otp["agreement"]) == 1.0 and otp["is_permutation"]
    assert otp["key_bit"] == [(i - 3) % 8 for i in range(8)] and set(otp["sign"]) == {-1.0}
    assert otp["plain_bit"] == [(i - 1) % 8 for i in range(8)]
    affine = one_time_pad_map(_Affine(NetConfig(8)), examples=2048)
    assert min(affine["agreement"]) < 0.9

    class _KeyReusedTwice(Trio):
        def encrypt(self, p, k):
            return p * k[:, [0, 0, 2, 3, 4, 5, 6, 7]]  # bits 0 and 1 share a key bit: C_0 C_1 = P_0 P_1 leaks

    reused = one_time_pad_map(_KeyReusedTwice(NetConfig(8)), examples=2048)
    assert min(reused["agreement"]) == 1.0 and not reused["is_permutation"]


def _identity_mlp(n: int, gain: float = 6.0) -> MLP:
    """An MLP (1 hidden layer of 2N ReLU) computing tanh(gain * x): the sign of every bit passes through."""
    mlp = MLP(n, n, 1, 2 * n)
    eye = torch.eye(n)
    with torch.no_grad():
        mlp.net[0].weight.copy_(torch.cat([eye, -eye])), mlp.net[0].bias.zero_()
        mlp.net[2].weight.copy_(gain * torch.cat([eye, -eye], dim=1)), mlp.net[2].bias.zero_()
    return mlp


def test_the_stream_cipher_family_holds_the_one_time_pad_and_no_cipher_alike():
    """Alice = code(P) * keystream(K), Bob = decode(C * keystream(K)) with the same keystream network: with the
    three passing bits through it *is* the pad (on bits in {-1, 1}, a product is xnor); with a constant keystream
    it is no cipher at all. Training decides which."""
    n = 8
    trio = Trio(NetConfig(n, discrete_cipher=True, parties="stream", parties_depth=1, parties_width=2 * n))
    assert isinstance(trio.alice, StreamAlice) and trio.bob._alice[0] is trio.alice
    assert not any(k.startswith("bob.keystream") for k in trio.state_dict())  # the shared generator is saved once
    trio.alice.code, trio.alice.keystream, trio.bob.decode = _identity_mlp(n), _identity_mlp(n), _identity_mlp(n)
    p, k = (torch.randint(0, 2, (512, n)).float() * 2 - 1 for _ in range(2))
    assert torch.equal(trio.encrypt(p, k), p * k)
    assert bits_wrong(trio.decrypt(trio.encrypt(p, k), k), p).max() < 1e-3
    otp = one_time_pad_map(trio, examples=2048)
    assert min(otp["agreement"]) == 1.0 and otp["is_permutation"] and otp["key_bit"] == list(range(n))
    with torch.no_grad():  # a constant keystream: the "cipher" is the plaintext itself
        trio.alice.keystream.net[2].weight.zero_(), trio.alice.keystream.net[2].bias.fill_(5.0)
    assert torch.equal(trio.encrypt(p, k), p) and not one_time_pad_map(trio, examples=2048)["is_permutation"]
    c = trio.encrypt(p, k, frozen_code=True)  # the Eves' view: the same bits, a gradient to the keystream only
    c.sum().backward()
    assert trio.alice.code.net[0].weight.grad is None and trio.alice.keystream.net[0].weight.grad is not None


def test_a_monotone_linear_keystream_is_a_pad_only_when_its_bits_are_uncorrelated():
    """The hardened keystream: one linear layer with weights |W| over the key, then sign. With W a (signed)
    permutation it is a bijection of the key (a pad: 2^N distinct keystreams, no correlation); with a key bit used
    twice, or every bit a majority of the key, the decorrelation term sees it and fewer keystreams exist."""
    n = 8
    trio = Trio(NetConfig(n, discrete_cipher=True, parties="stream", parties_depth=1, parties_width=16,
                          keystream_depth=0, keystream_monotone=True))
    layer = trio.alice.keystream.net[0]
    assert len(trio.alice.keystream.net) == 2 and layer.in_features == n  # depth 0: one linear layer, then tanh
    keys = ((torch.arange(2 ** n)[:, None] >> torch.arange(n)) & 1) * 2.0 - 1  # every key once
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        layer.weight.copy_(-torch.eye(n)[perm])
        layer.bias.zero_()
    assert torch.equal(trio.alice.stream(keys), keys[:, perm])  # |W|: the sign of W is not used
    assert distinct_keystreams(trio) == 2 ** n and keystream_correlation(trio.alice.stream(keys)) < 1e-12
    with torch.no_grad():
        layer.weight[1] = layer.weight[0]  # a key bit used twice
    assert distinct_keystreams(trio) == 2 ** (n - 1)
    assert keystream_correlation(trio.alice.stream(keys)).item() == pytest.approx(1 / (n * (n - 1) / 2 + n))
    with torch.no_grad():
        layer.weight.fill_(1.0), layer.bias.uniform_(-0.5, 0.5)  # every bit a majority vote of the key
    assert distinct_keystreams(trio) < 2 ** n and keystream_correlation(trio.alice.stream(keys)) > 0.1


def test_discrete_cipher_sends_bits_and_passes_gradients():
    trio = Trio(NetConfig(8, discrete_cipher=True))
    p, k = torch.ones(4, 8), -torch.ones(4, 8)
    c = trio.encrypt(p, k)
    assert set(c.unique().tolist()) <= {-1.0, 1.0}
    c.sum().backward()  # straight-through: Alice gets a gradient through the rounding
    assert trio.alice.fc.weight.grad is not None and trio.alice.fc.weight.grad.abs().sum() > 0


def test_hardened_training_runs_saves_and_records_its_adversaries(tmp_path):
    cfg = HardenConfig(n_bits=8, batch_size=64, steps=20, eval_every=10, eval_examples=256, probe_steps=5,
                       mlp_width=16, parties_width=16, eve_ramp=10, eve_reset=15, seed=0)
    trio, history, steps = harden(cfg, tmp_path / "h")
    assert steps == 20 and history.steps == [10, 20]
    assert history.names == ["paper", "mlp", "linear", "ind_cpa", "fresh MLP probe"] and len(history.eves[-1]) == 5
    loaded, meta = load_trained(tmp_path / "h")
    assert loaded.config.discrete_cipher and loaded.config.parties == "stream" and meta["step"] == 20
    assert "MLP Eve 2x16 ReLU" in meta["trained_against"][1] and "IND-CPA" in meta["trained_against"][3]
    ship(tmp_path / "h", tmp_path / "shipped", eve_steps=20)  # fp16, no optimizer, its one-time-pad test, plot
    tensors, config, meta = checkpoint.load(tmp_path / "shipped")
    assert tensors["alice.code.net.0.weight"].dtype == torch.float16 and config["discrete_cipher"]
    assert len(meta["one_time_pad"]["agreement"]) == 8 and (tmp_path / "shipped_otp.png").is_file()
    assert torch.equal(load_trained(tmp_path / "shipped")[0].encrypt(torch.ones(2, 8), torch.ones(2, 8)).abs(),
                       torch.ones(2, 8))  # the fp16 trio loads and still sends bits
    with pytest.raises(UserError, match="unknown Eve 'oracle'"):
        HardenConfig(ensemble="paper,oracle").eve_names()


def _train_brief(trio, known_pairs: int = 0) -> float:
    """A small MLP Eve (2 x 128 ReLU) trained 400 steps of 256 against frozen Alice: her best bits wrong of N
    (ciphertext only, or the indistinguishability game with `known_pairs=IND_CPA`)."""
    n = trio.config.n_bits
    trio.requires_grad_(False)
    protocol = Protocol(eves=1, max_steps=400, batch_size=256, eval_every=200, eval_examples=8192, lr=0.003, seed=0)
    inputs, outputs = (3 * n, 1) if known_pairs == IND_CPA else (n, n)
    best, _, _ = train_attacker(trio, lambda: MLP(inputs, outputs, 2, 128), protocol,
                                torch.Generator().manual_seed(0), known_pairs)
    return best


# The goal: every Eve at 7.0 bits wrong of 16 or more. The shipped hardened cipher (a learned one-time pad,
# README) holds the brief Eves below at 8.00 (MLP) and 7.86 (IND-CPA); its predecessor of 2026-12-04, which reused
# key bits, fell to 6.52 and 3.65.
HARDENED_MLP_FLOOR, HARDENED_IND_CPA_FLOOR = 7.0, 7.0


def test_the_hardened_checkpoint_is_not_read_by_a_brief_mlp_eve():
    """The guarantee that must not rot: a small MLP Eve trained for seconds stays above the goal's 7.0 against the
    shipped hardened Alice, in both games, while the same Eve reads a cipher that passes the plaintext through and
    the shipped cipher with one key bit reused for every keystream bit; and Bob still decrypts."""
    assert _train_brief(_NoCipher(NetConfig(16))) < 1.0  # the Eve is able to read what is readable
    assert "hardened" in APP.checkpoints
    trio, meta = load_trained("hardened")
    assert trio.config.n_bits == 16 and trio.config.discrete_cipher and "trained_against" in meta
    p, k = (torch.randint(0, 2, (4096, 16), generator=torch.Generator().manual_seed(1)).float() * 2 - 1
            for _ in range(2))
    with torch.no_grad():
        assert bits_wrong(trio.decrypt(trio.encrypt(p, k), k), p).mean() < 0.05
    assert _train_brief(trio) >= HARDENED_MLP_FLOOR
    assert _train_brief(trio, IND_CPA) >= HARDENED_IND_CPA_FLOOR
    leaky, _ = load_trained("hardened")  # the same cipher, but every keystream bit copies bit 0 (key bits reused,
    with torch.no_grad():  # the old failure, to the extreme)
        leaky.alice.keystream.net[0].weight[1:] = leaky.alice.keystream.net[0].weight[0]
        leaky.alice.keystream.net[0].bias[1:] = leaky.alice.keystream.net[0].bias[0]
    assert _train_brief(leaky, IND_CPA) < HARDENED_IND_CPA_FLOOR


# A one-time pad leaves the least-squares Eve at exactly 8; the paper's cipher, almost affine for a fixed key (issue
# 18), lets her to 7.43, above the goal yet read to 0.06 by a large MLP Eve. The guard therefore holds the hardened
# cipher to a stricter line than the goal, one the paper's cipher fails (in under a second, with no training).
HARDENED_LINEAR_FLOOR = 7.8


def test_the_hardened_checkpoint_leaks_nothing_linear_and_the_papers_cipher_does():
    protocol = Protocol(linear_examples=16384, eval_examples=16384, seed=0)
    hardened, _ = load_trained("hardened")
    paper, _ = load_trained("neuralcrypto")
    assert linear_eve(hardened, protocol, torch.Generator().manual_seed(0)) >= HARDENED_LINEAR_FLOOR
    assert linear_eve(paper, protocol, torch.Generator().manual_seed(0)) < HARDENED_LINEAR_FLOOR


def test_success_rule():
    assert judge(0.01, 7.5) and judge(0.049, 7.0)
    assert not judge(0.05, 7.5) and not judge(0.01, 6.99)


def test_bench_summary_uses_successful_seeds_only():
    runs = [{"success": True, "bob": 0.01, "eve": 7.8, "seconds_to_converge": 10.0, "converged_step": 100},
            {"success": True, "bob": 0.03, "eve": 7.2, "seconds_to_converge": 30.0, "converged_step": 300},
            {"success": False, "bob": 3.0, "eve": 4.0, "seconds_to_converge": None, "converged_step": None}]
    m = summarize(runs)
    assert m["seeds"] == 3 and m["seeds_succeeded"] == 2
    assert m["bob_bits_wrong"] == pytest.approx(0.02) and m["eve_bits_wrong"] == pytest.approx(7.5)
    assert m["seconds_to_converge"] == pytest.approx(20.0)
    assert summarize(runs[2:])["bob_bits_wrong"] is None


# ------------------------------------------------------------------------------------------ text and CLI
def test_text_blocks_round_trip():
    for text in ("a", "attack at dawn", "Grüße → ✓"):
        blocks, n = text_to_blocks(text, 16)
        assert blocks.shape[1] == 16 and set(np.unique(blocks)) <= {-1.0, 1.0}
        assert blocks_to_text(blocks, n) == text
    for bad in ("", "   "):
        with pytest.raises(UserError, match="empty"):
            text_to_blocks(bad)


def test_eves_guess_shows_undecodable_bytes_readably():
    assert printable("a\ufffdb\x07") == "a·b·"
    assert blocks_to_text(np.array([[1.0] * 8 + [-1.0] * 8]), 2) == "··"  # 0xff 0x00: not UTF-8 text, a control


def test_run_on_the_shipped_checkpoint(run_cli):
    code, out, _ = run_cli("run", "neuralcrypto", "--message", "attack at dawn", "--seed", "3")
    assert code == 0
    assert "Bob  (has the key): attack at dawn" in out  # the shipped Alice/Bob pair decrypts
    eve_wrong = int(out.split("Eve  (no key)")[1].split("\n")[1].split("/")[0])
    assert eve_wrong > 112 // 4  # Eve far from reading it (random guessing gets 56 of the 112 bits wrong)
    assert "\ufffd" not in out and "her bytes: " in out  # her guess is shown as hex too, never as U+FFFD


def test_predict_returns_text_and_plot():
    out = entry.predict(message="hello")
    assert "Bob" in out["result"] and out["plot"].is_file() and out["plot"].suffix == ".png"
    assert out["bits_wrong"]["total"] == 48  # "hello" is 5 bytes: 3 blocks of 16 bits


def _one_line_error(run_cli, argv, *needles):
    code, _, err = run_cli(*argv)
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("deepgallery: error:")
    for needle in needles:
        assert needle in err


def test_bad_input_gives_one_line_and_exit_2(run_cli, tmp_path):
    _one_line_error(run_cli, ["run", "neuralcrypto", "--message", ""], "empty")
    _one_line_error(run_cli, ["run", "neuralcrypto"], "--message")
    _one_line_error(run_cli, ["run", "neuralcrypto", "--message", "x", "--seed", "abc"], "--seed", "integer")
    _one_line_error(run_cli, ["train", "neuralcrypto", "--steps", "-5"], "--steps")
    _one_line_error(run_cli, ["train", "neuralcrypto", "--lr", "nan"], "--lr")
    _one_line_error(run_cli, ["run", "neuralcrypto", "--message", "x", "--checkpoint", str(tmp_path / "nope")],
                    "not found", "deepgallery train neuralcrypto")
    bad = tmp_path / "bad"
    shipped = APP.checkpoint("neuralcrypto")
    for suffix in (".safetensors", ".json"):
        shutil.copy(shipped.with_name(shipped.name + suffix), bad.with_name(bad.name + suffix))
    data = bytearray(bad.with_suffix(".safetensors").read_bytes())
    data[-8:] = b"\xff" * 8
    bad.with_suffix(".safetensors").write_bytes(bytes(data))
    _one_line_error(run_cli, ["run", "neuralcrypto", "--message", "x", "--checkpoint", str(bad)], "corrupt",
                    "deepgallery train neuralcrypto")
    bad.with_suffix(".json").write_text("{not json", encoding="utf-8")
    _one_line_error(run_cli, ["run", "neuralcrypto", "--message", "x", "--checkpoint", str(bad)], "corrupt")
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.parametrize("argv, needle", [
    (("--steps", "0"), "--steps must be > 0"),  # the allowed ranges of the flags made by core.config
    (("--probe-eve-steps", "0"), "--probe-eve-steps must be > 0"),
    (("--eval-eves", "0"), "--eval-eves must be > 0"),
    (("--eval-lr", "-1"), "--eval-lr must be > 0"),
    (("--seed", "-1"), "--seed must be >= 0"),
    (("--eval-seed", "-1"), "--eval-seed must be >= 0"),
    (("--eve-steps-per-step", "-1"), "--eve-steps-per-step must be >= 0"),
    (("--batch-size", "2.5"), "--batch-size must be an integer"),
])
def test_train_flags_keep_their_ranges(run_cli, argv, needle):
    code, _, err = run_cli("train", "neuralcrypto", *argv)
    assert code == 2 and needle in err


def test_train_on_the_cpu_flags_reach_the_configs(run_cli, tmp_path, monkeypatch):
    """`deepgallery train neuralcrypto`: the TrainConfig and --eval-* flags reach their configs, --device cpu
    reaches the training and the evaluation, and the checkpoint, with its retrained Eve, loads back."""
    from deepgallery.apps.neuralcrypto import evaluate as evaluate_module
    from deepgallery.apps.neuralcrypto import train as train_module

    seen = {}
    real_train, real_evaluate = train_module.train, evaluate_module.evaluate

    def spy_train(config, path, resume=False, device="cpu", log=None):
        seen.update(train=config, train_device=device)
        return real_train(config, path, resume=resume, device=device, log=log)

    def spy_evaluate(trio, config, device="cpu"):
        seen.update(eval=config, eval_device=device)
        return real_evaluate(trio, config, device)

    monkeypatch.setattr(train_module, "train", spy_train)
    monkeypatch.setattr(evaluate_module, "evaluate", spy_evaluate)
    out = tmp_path / "nc"
    code, stdout, _ = run_cli("train", "neuralcrypto", "--n-bits", "8", "--steps", "20", "--eval-every", "10",
                              "--batch-size", "64", "--eve-steps-per-step", "0", "--seed", "0", "--eval-eves", "1",
                              "--eval-eve-steps", "10", "--eval-measure-every", "5", "--eval-measure-examples",
                              "128", "--eval-seed", "0", "--out", out, "--device", "cpu")
    assert code == 0 and "checkpoint:" in stdout
    assert seen["train"] == TrainConfig(n_bits=8, steps=20, eval_every=10, batch_size=64, eve_steps_per_step=0,
                                        seed=0)
    assert seen["eval"] == EvalConfig(eves=1, eve_steps=10, measure_every=5, measure_examples=128, seed=0)
    assert seen["train_device"] == torch.device("cpu") and seen["eval_device"] == torch.device("cpu")
    assert out.with_name("nc.png").is_file()
    trio, meta = load_trained(out)
    assert trio.config.n_bits == 8 and meta["step"] == 20 and len(meta["evaluation"]["eve_bits_wrong_each"]) == 1
    code, _, err = run_cli("train", "neuralcrypto", "--out", out)
    assert code == 2 and "--resume" in err  # an existing checkpoint is not overwritten


def test_run_device_reaches_the_exchange(run_cli, monkeypatch):
    from deepgallery.apps.neuralcrypto import exchange as exchange_module

    devices = []
    real = exchange_module.exchange

    def spy(message, checkpoint_path=None, seed=None, device="cpu"):
        devices.append(device)
        return real(message, checkpoint_path, seed, device)

    monkeypatch.setattr(exchange_module, "exchange", spy)
    code, out, _ = run_cli("run", "neuralcrypto", "--message", "hi", "--seed", "0", "--device", "cpu")
    assert code == 0 and "Bob  (has the key): hi" in out and devices == [torch.device("cpu")]


def test_the_shipped_trio_is_named_once():
    """load_trained() without a path is APP.checkpoint("neuralcrypto"), with its best retrained Eve."""
    trio, meta = load_trained()
    tensors, _, _ = checkpoint.load(APP.checkpoint("neuralcrypto"))
    best = {k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith("eve_best.")}
    assert best and all(torch.equal(trio.eve.state_dict()[k], v) for k, v in best.items())
    assert torch.equal(trio.alice.fc.weight, tensors["alice.fc.weight"]) and meta["evaluation"]["success"]


def test_interrupted_training_saves_the_steps_since_the_last_evaluation(tmp_path, monkeypatch):
    """Ctrl-C (or SIGTERM) in the middle of an evaluation interval: the finished steps are saved on the way out,
    and the interrupt still stops the run."""
    from deepgallery.apps.neuralcrypto import train as train_module
    from deepgallery.core import checkpoint

    real, calls = train_module.minibatch, []

    def minibatch_then_interrupt(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3 * 7 + 1 + 1:  # 3 batches a step (Alice/Bob, Eve twice) + the step-5 evaluation's: step 8
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "minibatch", minibatch_then_interrupt)
    cfg = train_module.TrainConfig(steps=50, eval_every=5, batch_size=64, probe_eve_steps=1, eval_examples=64)
    with pytest.raises(KeyboardInterrupt):
        train_module.train(cfg, tmp_path / "nc")
    assert checkpoint.load(tmp_path / "nc")[2]["step"] == 7  # the evaluation checkpoint was at step 5
