"""Text <-> blocks of bits in {-1, 1}, the paper's encoding (Section 2.5: "bits" are -1 and 1).

A message is encoded as its UTF-8 bytes, cut into blocks of N bits (N = 16: two bytes per block), the
last block padded with zero bytes. Each block is encrypted under its own random key, as a one-time key
per block: Alice and Bob were trained on independent (plaintext, key) pairs, never on a reused key.
"""

from __future__ import annotations

import numpy as np

from deepgallery.core.errors import UserError

MAX_MESSAGE_BYTES = 4096  # a demo, not a file encryptor: keeps `run` and the web page quick


def text_to_blocks(message: str, n_bits: int = 16) -> tuple[np.ndarray, int]:
    """(blocks of shape (B, n_bits) in {-1, 1}, number of message bytes). UserError for empty or huge text."""
    if not isinstance(message, str) or not message.strip():
        raise UserError("the message is empty: give some text, e.g. --message \"attack at dawn\"")
    data = message.encode("utf-8")
    if len(data) > MAX_MESSAGE_BYTES:
        raise UserError(f"the message is {len(data)} bytes of UTF-8; the limit is {MAX_MESSAGE_BYTES}")
    if n_bits % 8:
        raise UserError(f"blocks of {n_bits} bits cannot hold whole bytes; the checkpoint needs N divisible by 8")
    per_block = n_bits // 8
    padded = data + b"\0" * (-len(data) % per_block)
    bits = np.unpackbits(np.frombuffer(padded, dtype=np.uint8))  # (8 * bytes,) in {0, 1}, most significant first
    return bits.reshape(-1, n_bits).astype(np.float32) * 2 - 1, len(data)


def blocks_to_bytes(blocks: np.ndarray, n_bytes: int) -> bytes:
    """(B, n_bits) values read by their sign (> 0 means bit 1) as the first `n_bytes` bytes."""
    bits = (np.asarray(blocks) > 0).astype(np.uint8).reshape(-1)
    return np.packbits(bits).tobytes()[:n_bytes]


def blocks_to_text(blocks: np.ndarray, n_bytes: int) -> str:
    """Decode (B, n_bits) values back to text; bytes that are not valid UTF-8 become '·' (see `printable`)."""
    return printable(blocks_to_bytes(blocks, n_bytes).decode("utf-8", errors="replace"))


UNREADABLE = "·"
WHY_DOTS = "· = a byte that is not valid UTF-8 text or is a control character (a wrong guess is random bytes)"


def printable(text: str) -> str:
    """Text safe to print: control characters and undecodable bytes (U+FFFD, which shows as a '?' box in most
    fonts) become '·'. A near-random guess such as Eve's is mostly bytes that are not UTF-8 at all."""
    return "".join(ch if ch.isprintable() and ch != "\ufffd" else UNREADABLE for ch in text)


def bits_wrong(guess: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Hard bit errors per block: the number of positions whose sign differs, shape (B,)."""
    return ((np.asarray(guess) > 0) != (np.asarray(truth) > 0)).sum(axis=1)
