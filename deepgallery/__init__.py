"""deepgallery: twenty landmark deep-learning applications that run, train and benchmark on a laptop."""

__version__ = "0.1.0"
