"""Models of classify 0.1-0.2, which were pickles: loaded only on request (``--trust``) and
converted to today's estimators, so ``classify convert`` can save them as data."""

from __future__ import annotations

import contextlib
import gzip
import io
from collections.abc import Iterator

import numpy as np

from . import model as model_module
from .model import Model, Part


class _State:
    """Holds an old pickled object's state as attributes."""

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)


class TopicModel(_State):
    pass


class StanceModel(_State):
    pass


class OldModel(_State):
    pass


@contextlib.contextmanager
def _old_names() -> Iterator[None]:
    """While unpickling, ``classify.model`` names the old classes."""
    saved = {k: getattr(model_module, k, None) for k in ("Model", "TopicModel", "StanceModel")}
    model_module.Model = OldModel  # type: ignore[misc, assignment]
    model_module.TopicModel = TopicModel  # type: ignore[attr-defined]
    model_module.StanceModel = StanceModel  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                delattr(model_module, k)
            else:
                setattr(model_module, k, v)


def load_pickle(blob: bytes, joblib_file: bool = False) -> Model:
    """Unpickle an old model (it can run code: only for trusted files) and convert it."""
    with _old_names():
        if joblib_file:
            import joblib

            old = joblib.load(io.BytesIO(blob))
        else:
            import pickle

            old = pickle.loads(gzip.decompress(blob))
    if not isinstance(old, OldModel):
        raise TypeError("not a classify model")
    return convert(old)


def convert(old: OldModel) -> Model:
    f = old.features
    vparams = {"ngram_range": (1, 2), "char_ngrams": bool(f.use_char),
               "lexicon": bool(f.lexicon), "abbreviations": False}
    topics = stance = None
    if old.topics is not None:
        t = old.topics
        max_topics, min_topics = getattr(t, "max_topics", None), getattr(t, "min_topics", 0)
        topics = Part("topics", list(t.labels), f, vparams,
                      {"C": float(getattr(t, "C", 8.0)), "threshold_strategy": "shrunk",
                       "threshold_floor": None},
                      t.coef, np.asarray(t.intercept),
                      np.asarray(t.thresholds, dtype=np.float64),
                      "exactly-one" if max_topics == 1 else
                      "at-least-one" if min_topics else "any",
                      int(getattr(t, "views", 1)))
    if old.stance is not None:
        s = old.stance
        stance = Part("stance", list(s.labels), f, vparams,
                      {"C": float(getattr(s, "C", 4.0)),
                       "class_weight": getattr(s, "class_weight", None)},
                      s.coef, np.asarray(s.intercept))
    return Model(topics=topics, stance=stance, info=dict(getattr(old, "info", {})))
