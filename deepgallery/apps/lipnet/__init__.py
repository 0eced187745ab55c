"""lipnet — LipNet: End-to-End Sentence-level Lipreading (Assael, Shillingford, Whiteson & de Freitas 2016)."""

from ...core.app import App, Headline, Output, Param

APP = App(
    id="lipnet",
    title="Lipreading sentences (LipNet)",
    paper="Assael et al. 2016, LipNet: End-to-End Sentence-level Lipreading",
    paper_url="https://arxiv.org/abs/1611.01599",
    summary=(
        "Read a sentence from the lips: mouth crops tracked with a face mesh, three spatiotemporal convolutions, "
        "two bidirectional GRUs and the CTC loss, decoded greedily or by beam search held to the GRID grammar. "
        "Trains on the GRID corpus in its own layout; the shipped model was trained on talking mouths rendered "
        "offline (espeak-ng phoneme timings on real faces), so it reads those, not real lips."
    ),
    status="built",
    extra="faces",
    entry="deepgallery.apps.lipnet.entry",
    inputs=(
        Param("video", "video", "a clip of one face saying a GRID-style sentence (3 s, 25 fps is best)"),
        Param("decoder", "choice", "greedy best path, beam search, or beam search held to the GRID grammar",
              default="grammar", choices=("greedy", "beam", "grammar")),
    ),
    outputs=(
        Output("transcript", "text", "the sentence read from the lips"),
        Output("confidence", "json", "each character of the best path with its probability"),
        Output("mouth", "video", "the mouth crops the network read"),
    ),
    checkpoints=("lipnet", "baseline2d"),
    headline=Headline("wer_unseen", "WER, unseen speakers, rendered mouths (not GRID)", "11.4 % on GRID",
                      "{:.1%}"),
)
