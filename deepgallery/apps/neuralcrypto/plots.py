"""The figures of neuralcrypto: the bits of one exchange, and the training curves (the paper's Figure 2)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from deepgallery.core.atomic import atomic_path  # noqa: E402


def plot_exchange(arrays: dict, result, path: Path, max_blocks: int = 24) -> Path:
    """Rows of bits (plaintext, key, ciphertext, Bob's and Eve's outputs) for the first blocks, as a PNG.

    `arrays` and `result` are what `exchange.exchange` returns: (B, N) arrays and the Exchange."""
    names = [("plain", "plaintext P"), ("key", "key K"), ("cipher", "ciphertext C\n= Alice(P, K)"),
             ("bob", f"Bob(C, K)\n{result.bob_bits_wrong} bits wrong"),
             ("eve", f"Eve(C)\n{result.eve_bits_wrong} bits wrong")]
    shown = min(result.blocks, max_blocks)
    # "constrained" layout reserves room for the figure title above the two-line panel titles (tight_layout
    # ignores suptitle, which then hid under the panels' labels in the web gallery).
    fig, axes = plt.subplots(1, len(names), figsize=(10, 1.25 + 0.13 * shown), squeeze=False, layout="constrained")
    for ax, (key, title) in zip(axes[0], names, strict=True):
        ax.imshow(arrays[key][:shown], cmap="coolwarm", vmin=-1, vmax=1, aspect="equal", interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_ylabel(f"{shown} of {result.blocks} blocks" if shown < result.blocks else "one row per block")
    fig.suptitle(f"{result.n_bits}-bit blocks: red = 1, blue = 0 (outputs in between are uncertain)", fontsize=9)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return path


def plot_training(history, evaluation, path: Path, n_bits: int = 16) -> Path:
    """The paper's Figure 2: Bob's and Eve's bits wrong over training steps, plus the best retrained Eve."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(history.steps, history.bob, label="Bob", color="tab:blue")
    ax.plot(history.steps, history.eve, label="Eve (trained alongside)", color="tab:red")
    if evaluation is not None:
        ax.axhline(evaluation.best_eve_bits, color="tab:red", ls="--", lw=1,
                   label=f"best of {len(evaluation.eve_bits_each)} retrained Eves: {evaluation.best_eve_bits:.2f}")
    ax.axhline(n_bits / 2, color="grey", ls=":", lw=1, label="random guessing")
    ax.set_xlabel("Alice/Bob training steps")
    ax.set_ylabel(f"bits wrong (of {n_bits})")
    ax.set_ylim(0, n_bits * 0.75)
    ax.set_title("Bob's and Eve's reconstruction error (cf. Abadi & Andersen 2016, Fig. 2)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return path


def plot_one_time_pad(otp: dict, path: Path) -> Path:
    """The hardened cipher against the one-time pad: max_k |E[C_i P_k K_j]| for every ciphertext bit i and key
    bit j.

    A one-time pad C_i = P_sigma(i) xor K_pi(i) is a permutation matrix of ones (each row one key bit, each
    column once); `otp` is what `hardened.one_time_pad_map` returns."""
    import numpy as np

    corr = np.abs(np.asarray(otp["correlation"]))  # (N, N)
    fig, ax = plt.subplots(figsize=(4.6, 4.2), layout="constrained")
    image = ax.imshow(corr, cmap="viridis", vmin=0, vmax=1)
    ax.set_xlabel("key bit j")
    ax.set_ylabel("ciphertext bit i")
    ax.set_title(f"max_k |E[C_i P_k K_j]|: 1 where C_i = P_k xor K_j\nlowest agreement {min(otp['agreement']):.4f}, "
                 f"{'a permutation' if otp['is_permutation'] else 'not a permutation'}", fontsize=9)
    fig.colorbar(image, ax=ax, shrink=0.8)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return path
