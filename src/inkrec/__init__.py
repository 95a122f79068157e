"""inkrec: recognize hand-drawn doodles and handwriting, from the real data sets to a live drawing page."""

__version__ = "0.1.0"
