"""neuralcrypto: Alice and Bob learn to encrypt so that Eve cannot read (Abadi & Andersen 2016)."""

from deepgallery.core.app import App, Headline, Output, Param

APP = App(
    id="neuralcrypto",
    title="Alice, Bob and Eve learn to encrypt",
    paper="Abadi & Andersen 2016, Learning to Protect Communications with Adversarial Neural Cryptography",
    paper_url="https://arxiv.org/abs/1610.06918",
    summary=("Three small networks trained adversarially: Alice encrypts 16-bit blocks with a shared key, Bob "
             "decrypts, Eve eavesdrops without the key. Type a message: the trained Alice encrypts it block by "
             "block, Bob reads it back, and Eve's best guess stays near random."),
    status="built",
    extra="",
    entry="deepgallery.apps.neuralcrypto.entry",
    inputs=(Param("message", "text", "text to encrypt (UTF-8, up to 4096 bytes)", default="attack at dawn"),),
    outputs=(
        Output("result", "text", "plaintext, ciphertext, Bob's decryption and Eve's guess with bits wrong"),
        Output("plot", "image", "the bits: plaintext, key, ciphertext, Bob's and Eve's outputs"),
        Output("bits_wrong", "json", "bits Bob and Eve got wrong, and the total"),
    ),
    checkpoints=("neuralcrypto", "hardened"),
    headline=Headline("eve_bits_wrong", "Eve's wrong bits of 16 (8 = guessing)", "near 8", "{:.2f}"),
)
