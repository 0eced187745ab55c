"""One message through the trained parties: Alice encrypts it block by block, Bob decrypts, Eve guesses.

Each 16-bit block gets its own random key (bits.py explains why), as the pairs Alice and Bob were trained on
(Section 3.1: fresh random plaintext and key per example). Bob holds the key; Eve sees the ciphertext alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from .bits import UNREADABLE, WHY_DOTS, bits_wrong, blocks_to_bytes, blocks_to_text, printable, text_to_blocks
from .model import load_trained


@dataclass
class Exchange:
    """One message through Alice, Bob and Eve."""

    message: str
    cipher_hex: str  # Alice's ciphertext, each value's sign read as a bit
    bob_text: str
    eve_text: str
    eve_hex: str  # Eve's guess as bytes, since most of them are not text
    bob_bits_wrong: int  # hard bit errors over all blocks
    eve_bits_wrong: int
    blocks: int
    n_bits: int

    def report(self) -> str:
        total = self.blocks * self.n_bits
        rate = lambda k: f"{k}/{total} bits wrong ({k / self.blocks:.2f} of {self.n_bits} per block)"  # noqa: E731
        return "\n".join([
            f"plaintext : {printable(self.message)}",
            f"ciphertext: {self.cipher_hex}  ({self.blocks} blocks of {self.n_bits} bits, one random key each)",
            f"Bob  (has the key): {printable(self.bob_text)}",
            f"     {rate(self.bob_bits_wrong)}",
            f"Eve  (no key)     : {printable(self.eve_text)}",
            f"     {rate(self.eve_bits_wrong)}; random guessing gets {self.n_bits // 2} of {self.n_bits} wrong",
            f"     her bytes: {self.eve_hex}",
            *([f"     ({WHY_DOTS})"] if UNREADABLE in self.eve_text + self.bob_text else []),
        ])


def exchange(message: str, checkpoint_path: str | os.PathLike | None = None, seed: int | None = None,
             device: torch.device | str = "cpu") -> tuple[Exchange, dict[str, np.ndarray]]:
    """Encrypt `message` block by block with fresh random keys; Bob decrypts, Eve guesses.

    Returns the Exchange and the (B, N) arrays in {-1, 1} or (-1, 1): plain, key, cipher, bob, eve.
    The keys come from NumPy (seeded by `seed`), so a seed gives the same keys on every device.
    """
    trio, _ = load_trained(checkpoint_path)
    trio = trio.to(device)
    n = trio.config.n_bits
    plain_np, n_bytes = text_to_blocks(message, n)  # (B, N)
    rng = np.random.default_rng(seed)
    key_np = rng.integers(0, 2, plain_np.shape).astype(np.float32) * 2 - 1  # (B, N), one key per block
    with torch.no_grad():
        plain, key = torch.from_numpy(plain_np).to(device), torch.from_numpy(key_np).to(device)
        cipher_t = trio.encrypt(plain, key)  # (B, N)
        bob, eve = trio.decrypt(cipher_t, key).cpu().numpy(), trio.eavesdrop(cipher_t).cpu().numpy()
    cipher = cipher_t.cpu().numpy()
    cipher_bits = (cipher > 0).astype(np.uint8).reshape(-1)
    result = Exchange(
        message=message,
        cipher_hex=np.packbits(cipher_bits).tobytes().hex(),
        bob_text=blocks_to_text(bob, n_bytes),
        eve_text=blocks_to_text(eve, n_bytes),
        eve_hex=blocks_to_bytes(eve, n_bytes).hex(),
        bob_bits_wrong=int(bits_wrong(bob, plain_np).sum()),
        eve_bits_wrong=int(bits_wrong(eve, plain_np).sum()),
        blocks=len(plain_np),
        n_bits=n,
    )
    return result, {"plain": plain_np, "key": key_np, "cipher": cipher, "bob": bob, "eve": eve}
