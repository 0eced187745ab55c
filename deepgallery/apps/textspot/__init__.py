"""textspot — read the text in videos and search them by word (Jaderberg et al. 2016)."""

from deepgallery.core.app import App, Headline, Output, Param

APP = App(
    id="textspot",
    title="Read and search text in video",
    paper="Jaderberg et al. 2016, Reading Text in the Wild with Convolutional Neural Networks",
    paper_url="https://arxiv.org/abs/1412.1842",
    summary=("Index the words that appear on screen in your videos and images (PP-OCR, Tesseract or the "
             "paper's synthetic-data word CNN), then search them by word: ranked hits with video, time, "
             "text line and a thumbnail, prefix and typo tolerant."),
    status="built",
    extra="text",
    entry="deepgallery.apps.textspot.entry",
    inputs=(
        Param("video", "video", "a video (mp4, mkv, avi, webm, mov) or an image with text in it"),
        Param("query", "text", "the word to search for, e.g. london (prefixes and small typos match too)",
              default="london"),
    ),
    outputs=(
        Output("hits", "table", "ranked hits: time (hh:mm:ss), start/end seconds, text line, confidence, video"),
        Output("frames", "gallery", "each hit's frame with its box drawn, captioned with its time and text"),
        Output("thumbnail", "image", "the best hit's frame with its box drawn"),
        Output("lines", "text", "every text line read in the video, with its time"),
    ),
    checkpoints=("jaderberg_dict200",),
    headline=Headline("word_recall", "word recall on generated news video", "not reported", "{:.3f}"),
)
