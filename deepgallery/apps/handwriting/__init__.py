"""handwriting — handwriting synthesis with a soft attention window (Graves 2013, Section 5)."""

from ...core.app import App, Headline, Output, Param

APP = App(
    id="handwriting",
    title="Handwriting synthesis",
    paper="Graves 2013, Generating Sequences With Recurrent Neural Networks",
    paper_url="https://arxiv.org/abs/1308.0850",
    summary=(
        "Write any text as pen strokes: stacked LSTMs with a soft attention window over the characters and a "
        "mixture of bivariate Gaussians for the next pen move, sampled with a bias for neatness, or primed with "
        "a line of someone's handwriting to write in their style. Trains on IAM-OnDB in its own layout; the "
        "shipped model learned from simulated writers of the single-stroke Hershey fonts (no online "
        "handwriting corpus exists offline), so it writes those two hands, varied, not a person's."
    ),
    status="built",
    extra="handwriting",
    entry="deepgallery.apps.handwriting.entry",
    inputs=(
        Param("text", "text", "what to write (letters, digits, space and . , ; : ! ? ' \" - ( ))",
              default="deep nets write by hand"),
        Param("style", "int",
              "0: the network's own choice; 1-6: a held-out writer's line primes the style (odd: print, even: joined)",
              default=1, minimum=0, maximum=6, step=1),
        Param("bias", "float", "sampling bias b (eqs. 61-62): 0 = the raw distribution, higher = neater",
              default=0.75, minimum=0.0, maximum=4.0, step=0.05),
        Param("strokes", "strokes", "or write a line yourself here (mouse or pen): the network copies your style",
              default=""),
        Param("prime_text", "text", "what you wrote on the pad (needed to copy your style)", default=""),
        Param("seed", "int", "random seed of the sampling", default=0, minimum=0, maximum=999, step=1),
    ),
    outputs=(
        Output("handwriting", "image", "the written line (PNG; the SVG is in the job's files)"),
        Output("animation", "video", "the pen writing it"),
        Output("window", "image", "the soft window: which character the network attends to at each pen point"),
        Output("svg", "file", "the strokes as SVG (one polyline per stroke)"),
    ),
    checkpoints=("synthesis",),
    headline=Headline("nll_heldout", "nats per pen point, held-out simulated writers",
                      "IAM-OnDB: −1096.9 nats per line (synthesis net)", "{:.3f}"),
)
