"""classify: tag news text with topics and stance, sentence by sentence and per article.

The library API (everything the CLI does) lives in :mod:`classify.api`; the scikit-learn
estimators are ``classify.TopicClassifier``, ``classify.StanceClassifier`` and
``classify.TextVectorizer`` (imported on first use, so ``import classify`` stays light).
"""

__version__ = "0.3.0"
__all__ = ["StanceClassifier", "TextVectorizer", "TopicClassifier"]


def __getattr__(name: str):
    if name in __all__:
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'classify' has no attribute {name!r}")
