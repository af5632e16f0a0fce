"""classify: tag news text with topics and stance, sentence by sentence and per article.

The library API (everything the CLI does) lives in :mod:`classify.api`.
"""

__version__ = "0.1.0"
