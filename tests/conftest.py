import os

os.environ.setdefault("DEEPGALLERY_QUIET", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
