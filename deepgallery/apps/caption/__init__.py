"""caption — Deep Visual-Semantic Alignments for Generating Image Descriptions (Karpathy & Fei-Fei, CVPR 2015)."""

from ...core.app import App, Headline, Output, Param
from ...core.detector import CENTERNET_ASSET

APP = App(
    id="caption",
    title="Image captions and sentence search",
    paper="Karpathy & Fei-Fei 2015, Deep Visual-Semantic Alignments for Generating Image Descriptions",
    paper_url="https://arxiv.org/abs/1412.2306",
    summary=(
        "Both halves of the paper: an alignment model (detected regions + the whole image through a CNN, a "
        "bidirectional RNN over the words, every word matched to its best region, trained with the image-sentence "
        "ranking loss) and a multimodal RNN that writes captions with beam search. Caption a photo with the "
        "alignment figure (each word on its region), or rank a folder of photos by a sentence. Trains on "
        "Karpathy's COCO/Flickr split files; the shipped model learned from pseudo-captions of real photos written "
        "from an offline COCO detector and ImageNet classifier, so it names COCO objects, their count and place, "
        "and a few scene cues — no actions or attributes."
    ),
    status="built",
    extra="caption",
    entry="deepgallery.apps.caption.entry",
    inputs=(
        Param("image", "image", "a photo"),
        Param("k", "int", "how many captions", default=3, minimum=1, maximum=10, step=1),
        Param("sentence", "text", "optional: a sentence to align to the photo's regions instead of the best caption",
              default=""),
    ),
    outputs=(
        Output("image", "image", "the alignment figure: each word drawn on the region it matches best"),
        Output("result", "text", "the captions with their log-probabilities, and the word-region alignment"),
        Output("captions", "json", "the captions and their scores"),
    ),
    assets=(CENTERNET_ASSET,),
    checkpoints=("photos",),
    headline=Headline("cider", "CIDEr-D, held-out photos vs their pseudo-captions (not COCO)",
                      "0.660 on MSCOCO, human captions (reported as 66.0)", "{:.2f}"),
)
