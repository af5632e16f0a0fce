"""The library API: everything the command line does, returning data.

>>> from classify import api
>>> result = api.train(["labels"], "models/default")           # doctest: +SKIP
>>> article = api.tag_text("Police seized 2 tonnes of cocaine.")  # doctest: +SKIP
>>> article.topics, article.sentences[0].topic_scores            # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from .cluster import DEFAULT_PARTITION_BYTES
from .data import (
    STDIN,
    Dataset,
    input_name,
    is_batch_file,
    is_stdin,
    item_id,
    load_dataset,
    open_lines,
    read_text,
)
from .errors import DataError, ModelError
from .model import Model, TrainOptions, check_options, finite_number, train_model, whole_number
from .persist import check_model_dir, save_model
from .persist import load_model as _load_model
from .tagging import (
    ArticleRule,
    ArticleTags,
    BatchItem,
    Render,
    Tagger,
    Tags,
    batch_item,
    iter_batch,
    render_batch,
    tag_batch,
    usable_cores,
)

if TYPE_CHECKING:  # evaluation pulls in sklearn.metrics, clusters Dask: imported when used
    import dask.bag
    import distributed

    from .audit import AuditReport
    from .cluster import ClusterRun
    from .contributions import Contributions
    from .evaluate import EvalReport
    from .interchange import Exported, Imported
    from .labeller import LabelResult
    from .suggest import SuggestResult

Log = Callable[[str], None]
DEFAULT_DATA = "labels"
LOCAL_MODEL = Path("models") / "default"


def bundled_model_dir() -> Path:
    """The default model shipped inside the installed package."""
    return Path(str(resources.files("classify.bundled") / "default"))


def default_model_dir() -> Path:
    """``$CLASSIFY_MODEL``, else ``./models/default`` if it holds a model, else the bundled one."""
    env = os.environ.get("CLASSIFY_MODEL")
    if env:
        return Path(env)
    if (LOCAL_MODEL / "meta.json").is_file():
        return LOCAL_MODEL
    return bundled_model_dir()


def model_dir_or_default(model_dir: str | Path | None) -> str | Path:
    """The model directory asked for, or the default one when none is (None only: an empty
    path is an error of its own, not a request for the default)."""
    return default_model_dir() if model_dir is None else model_dir


@dataclass
class TrainResult:
    model_dir: str
    records: int
    topic_labels: list[str]
    stance_labels: list[str]
    info: dict
    warnings: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


# The weight of "my own labels on top of the bundled corpus" (``--weight FILE`` without a
# number), chosen by benchmarks/active_learning.py's weight sweep on text unlike labels/ (the
# probe and AG sets; 10 over 3 and 30): see docs/README.md.
OWN_LABELS_WEIGHT = 10.0


def _path_list(paths: str | Path | Sequence[str | Path] | None, what: str) -> list:
    """Paths as a list: one path (a str is a path, not a sequence of characters) or several."""
    if paths is None:
        return []
    if isinstance(paths, str | Path):
        paths = [paths]
    elif isinstance(paths, bytes) or not isinstance(paths, Iterable):
        raise DataError(f"{what}: a path or a list of paths, got {type(paths).__name__}")
    out = list(paths)
    bad = [x for x in out if not isinstance(x, str | Path)]
    if bad:
        raise DataError(f"{what}: a path must be a str or Path, got {bad[0]!r:.60}")
    if any(isinstance(x, str) and not x.strip() for x in out):
        raise DataError(f"{what}: an empty path; name a file or directory")
    return out


def _data_paths(data: object) -> list:
    """The data paths to train or evaluate on: ``labels/`` for None, a DataError for an empty
    list (it would otherwise read as "the default")."""
    paths = _path_list(data, "data")
    if data is not None and not paths:
        raise DataError("data: an empty list of paths (None means labels/)")
    return paths or [DEFAULT_DATA]


def _one_path(path: object, what: str) -> Path:
    """``path`` as a Path; a DataError naming ``what`` for anything else, or an empty one
    (checked as ``_path_list`` checks each of several)."""
    if not isinstance(path, str | os.PathLike):
        raise DataError(f"{what}: a path (str or Path), got {type(path).__name__}")
    return Path(_path_list(Path(path) if isinstance(path, os.PathLike) else path, what)[0])


def load_data(paths: Sequence[str | Path] | None = None,
              schema: str | Path | None = None,
              weights: Mapping[str | Path, float] | None = None,
              tune_on: Sequence[str | Path] | None = None) -> Dataset:
    """Labelled records of ``paths`` (default ``labels/``); ``weights`` maps a data file or
    directory to the weight its records get in training, and the records of the files or
    directories ``tune_on`` names re-tune the topic thresholds (see ``data.load_dataset``)."""
    if schema is not None:
        schema = _one_path(schema, "schema")
    return load_dataset(_data_paths(paths), schema, weights,
                        _path_list(tune_on, "--tune-on"))


def model_params(model_dir: str | Path) -> dict:
    """The parameters a model's search chose, as ``TrainOptions(params=...)`` takes them:
    retraining with them skips the search (``classify train --params-from DIR``)."""
    from .model import check_fixed_params
    from .persist import model_path, read_meta

    training = read_meta(model_dir).get("training", {})
    training = training if isinstance(training, dict) else {}
    topics, stance = training.get("topics"), training.get("stance")
    out: dict = {}
    if isinstance(topics, dict) and isinstance(topics.get("params"), dict):
        out["topics"] = training["topics"]["params"]
    if isinstance(stance, dict) and "C" in stance:
        out["stance"] = {"C": training["stance"]["C"],
                         "class_weight": training["stance"].get("class_weight")}
    if not out:
        raise ModelError(f"{model_dir}: meta.json records no chosen parameters to reuse")
    try:
        check_fixed_params(out)
    except (ValueError, TypeError, DataError) as e:
        raise ModelError(f"{model_path(model_dir) / 'meta.json'}: its chosen parameters "
                         f"cannot be reused: {e}") from None
    return out


def training_options(model_dir: str | Path) -> dict:
    """The training options a model was built with, as its meta.json records them
    (``TrainOptions`` fields; {} for a model that records none)."""
    from .persist import read_meta

    training = read_meta(model_dir).get("training", {})
    opts = training.get("options", {}) if isinstance(training, dict) else {}
    return opts if isinstance(opts, dict) else {}  # a hand-edited meta.json: none recorded


def retrain_flags(model_dir: str | Path) -> list[str]:
    """The ``classify train`` flags of a model's own training that change what a retrain
    builds (``--thresholds``, ``--prevalence``, and ``--params-from`` the model itself when
    its parameters were fixed rather than searched), so that retraining with your labels
    keeps its recipe; [] when its meta.json records none (or cannot be read)."""
    try:
        opts = training_options(model_dir)
    except ModelError:
        return []
    out: list[str] = []
    if opts.get("thresholds"):
        out += ["--thresholds", str(opts["thresholds"])]
    q = opts.get("prevalence")
    if isinstance(q, int | float) and not isinstance(q, bool):
        out += ["--prevalence", f"{q:g}"]
    if opts.get("params"):
        out += ["--params-from", str(model_dir)]
    return out


def retrain_command(labelled: str | Path, model_dir: str | Path | None = None) -> list[str]:
    """The ``classify train`` command line that retrains a model with the labels in
    ``labelled`` on top of ``labels/`` (weighted, ``--weight``), keeping the recipe of the
    model in use (``retrain_flags``); ``classify label`` prints it, shell-quoted."""
    inside = Path(DEFAULT_DATA).resolve() in _one_path(labelled, "labelled").resolve().parents
    data = [] if inside else ["--data", DEFAULT_DATA, "--data", str(labelled)]
    return ["classify", "train", *data, "--weight", str(labelled),
            *retrain_flags(model_dir_or_default(model_dir))]


def _log_data_warnings(dataset: Dataset, log: Log) -> None:
    """Each warning as one line; the full list of conflicting duplicates as ``detail:`` lines
    (the CLI shows those with --verbose)."""
    for w in dataset.warnings:
        log(f"warning: {w}")
    for kept, other in dataset.conflicts:
        log(f"detail: {other}: same text as {kept}, labelled differently")


def _from_model(files: Sequence[str], model_dir: str | Path | None) -> dict:
    """``{"files_from_model": [...]}``: the data files as paths relative to the model
    directory, so ``suggest`` finds them from any working directory (and when the project
    moves whole); {} where one cannot be written so (another drive)."""
    if model_dir is None:
        return {}
    home = Path(model_dir).resolve()
    try:
        return {"files_from_model": [os.path.relpath(Path(f).resolve(), home) for f in files]}
    except ValueError:
        return {}


def build_meta(data: Dataset, info: dict, opts: TrainOptions, model_topics: list[str],
               thresholds: Iterable[float], stance_labels: list[str],
               model_dir: str | Path | None = None) -> dict:
    descriptions = data.schema.topics if data.schema else {}
    rule = ArticleRule()
    return {
        "labels": {"topics": {t: descriptions.get(t, "") for t in model_topics},
                   "stance": stance_labels},
        "thresholds": {t: round(float(v), 4) for t, v in zip(model_topics, thresholds,
                                                              strict=True)},
        "article_rule": {"params": asdict(rule), "text": rule.describe()},
        "data": {"sha256": data.sha256(), "records": len(data.records),
                 "topic_records": len(data.topic_records),
                 "stance_records": len(data.stance_records), "files": data.files,
                 **_from_model(data.files, model_dir),
                 **({"weights": data.weight_summary()} if data.weighted else {}),
                 **({"tune_on": data.tune_on} if data.tune_on else {})},
        "training": {"options": asdict(opts), **info},
        "cv_note": "internal CV scores: C and thresholds were chosen on these same folds; "
                   "run 'classify evaluate' for an unbiased estimate",
    }


def _check_log(log: object) -> None:
    if not callable(log):
        raise DataError(f"log must be a function of one line of text (print, say), got "
                        f"{type(log).__name__}")


def _check_count(value: object, name: str, least: int) -> None:
    """A DataError unless ``value`` is a whole number of at least ``least`` (not a bool, a
    string or a float: Python callers pass what a flag would have parsed)."""
    if not whole_number(value) or value < least:
        raise DataError(f"{name} must be a whole number of at least {least}, got {value!r:.40}")


def _check_flags(**flags: object) -> None:
    """A DataError naming the first flag given as a string: "no" or "false" is truthy, and
    would switch the flag on (0, 1 and None keep their usual meaning)."""
    for name, value in flags.items():
        if isinstance(value, str | bytes):
            raise DataError(f"{name} must be True or False, got {value!r:.40}")


def _check_callable(value: object, name: str, optional: bool = True) -> None:
    if not (callable(value) or (optional and value is None)):
        raise DataError(f"{name} must be {'None or ' if optional else ''}a function, got "
                        f"{type(value).__name__}")


def _check_lines(lines: object, name: str) -> None:
    """``lines`` must be an iterable of str lines (each line is checked as its chunk is read,
    ``tagging.line_chunks``)."""
    if isinstance(lines, str | bytes) or not hasattr(lines, "__iter__"):
        raise DataError(f"{name}: lines must be an iterable of str lines (e.g. a file opened "
                        f"as text), got {type(lines).__name__}")


def with_recipe(data: Sequence[str | Path] | None, opts: TrainOptions | None,
                weights: Mapping[str | Path, float] | None, recipe: bool = True
                ) -> tuple[TrainOptions, Mapping[str | Path, float] | None, dict]:
    """The options and weights a training on ``data`` uses: with ``recipe``, those of the
    ``recipe.json`` of a data directory filled in where ``opts`` leaves them open, and its
    own-labels weight on the files outside its corpus (``classify.recipe``, which checks the
    values it fills in), with what it set ({} without one)."""
    opts = check_options(opts)
    if not recipe:
        return opts, weights, {}
    from .recipe import apply_recipe

    return apply_recipe(_data_paths(data), opts, weights)


def train(data: Sequence[str | Path] | None = None, model_dir: str | Path = LOCAL_MODEL,
          opts: TrainOptions | None = None, schema: str | Path | None = None,
          log: Log = lambda _: None,
          weights: Mapping[str | Path, float] | None = None,
          tune_on: Sequence[str | Path] | None = None, recipe: bool = True) -> TrainResult:
    """Train on labelled data and save the model atomically into ``model_dir``. ``weights``:
    data file or directory -> weight of its records (e.g. ``{"mine.jsonl": 5}``: each of
    its records counts as five in every fit, threshold and internal CV score); recorded in
    meta.json under ``data.weights``. ``tune_on``: data files or directories of the kind of
    text the model will tag (your own labels of it): each topic's threshold is re-tuned on
    their out-of-fold scores and blended with the threshold of all the data
    (``thresholds.blend_thresholds``); recorded under ``data.tune_on`` and
    ``training.topics.tuned_on``. ``recipe``: a data directory's ``recipe.json`` fills in
    the options ``opts`` leaves open and weighs files outside its corpus (``with_recipe``);
    what it set is recorded under ``data.recipe``."""
    _check_log(log)
    opts, weights, used = with_recipe(data, opts, weights, recipe)
    check_model_dir(model_dir)  # before the training, not after it
    dataset = load_data(data, schema, weights, tune_on)
    _log_data_warnings(dataset, log)
    model = train_model(dataset.records, dataset.topic_labels, dataset.stance_labels, opts, log)
    if not model.finite():
        raise DataError(f"training gave weights that are not numbers (NaN or infinity), so "
                        f"nothing was saved to {model_dir}; are some weights extreme?")
    topics, stances = model.topic_labels, model.stance_labels
    meta = build_meta(dataset, model.info, opts, topics,
                      model.topics.thresholds if model.topics else [], stances, model_dir)
    if used:
        meta["data"]["recipe"] = used
    full = save_model(model, model_dir, meta)
    return TrainResult(model_dir=str(model_dir), records=len(dataset.records),
                       topic_labels=topics, stance_labels=stances, info=model.info,
                       warnings=dataset.warnings, meta=full)


def load_model(model_dir: str | Path | None = None, trust: bool = False) -> Model:
    """A model directory (default: ``default_model_dir()``) as a ``Model``:
    ``model.estimators()`` gives its fitted scikit-learn estimators (``TopicClassifier``,
    ``StanceClassifier``; either may be None), ``model.scores(texts)`` the fast scoring path
    tagging uses, ``model.topic_labels`` / ``model.stance_labels`` the classes."""
    return _load_model(model_dir_or_default(model_dir), trust=trust)[0]


def load_tagger(model_dir: str | Path | None = None, trust: bool = False,
                thresholds: Mapping[str, float] | None = None) -> Tagger:
    """The model ready to tag; ``thresholds`` (topic -> score in [0, 1]) replaces the model's
    decision thresholds for those topics in this tagger only (``classify tag --threshold``)."""
    return Tagger.load(model_dir_or_default(model_dir), trust=trust, thresholds=thresholds)


def _tagger(tagger: object, model_dir: str | Path | None, required: bool = False) -> Tagger:
    """``tagger`` if given (it must be a ``Tagger``, e.g. from ``load_tagger``), else the
    model of ``model_dir`` loaded (unless ``required``)."""
    if tagger is None and not required:
        return load_tagger(model_dir)
    if not isinstance(tagger, Tagger):
        raise DataError(f"tagger must be a Tagger (from api.load_tagger), got "
                        f"{type(tagger).__name__}"
                        f"{'' if required else '; pass a model directory as model_dir'}")
    return tagger


def _article_text_arg(text: object, name: str) -> str:
    """``text`` if it is a str (an article to tag), else a DataError naming ``name``."""
    if not isinstance(text, str):
        raise DataError(f"{name}: the text to tag must be a str, got {type(text).__name__}")
    return text


def tag_text(text: str, model_dir: str | Path | None = None, name: str = "<text>",
             explain: bool = True, tagger: Tagger | None = None, *, keep_all: bool = False,
             html: bool = False) -> ArticleTags:
    """Tag an article: per-sentence topics and stance with scores, and article-level tags.

    Lines that are not prose (navigation, lone symbols, dates, app banners, repeats of an
    earlier line: see ``classify.boilerplate``) are dropped first unless ``keep_all``.
    ``html=True``: ``text`` is an HTML page, reduced to its article's title and main text
    (``article_text``) before that; sentence offsets then refer to that text."""
    text = _article_text_arg(text, name)
    _check_flags(explain=explain, keep_all=keep_all, html=html)
    if html:
        text = article_text(text, name)
    return _tagger(tagger, model_dir).tag_article(text, name, explain, keep_all)


def read_article(path: str | Path, input_format: str = "auto") -> str:
    """The text ``classify tag PATH`` tags as an article: the file decoded as every reader
    decodes (a byte-order mark, else UTF-8, Windows-1252, Latin-1 line by line; a binary
    file refused), and for an .html/.htm/.xhtml page (``input_format`` "auto") the page's
    title and main text (``article_text``). An empty or blank result raises DataError
    naming the file."""
    from .webpage import HTML_SUFFIXES

    if input_format not in ("auto", "text"):
        raise DataError(f"input_format must be auto or text, got {input_format!r}")
    path = _one_path(path, "path")
    text = read_text(path)
    if input_format == "auto" and path.suffix.lower() in HTML_SUFFIXES:
        text = article_text(text, str(path))
    if not text.strip():
        raise DataError(f"{path}: empty input, nothing to tag")
    return text


def tag_file(path: str | Path, model_dir: str | Path | None = None, *,
             input_format: str = "auto", keep_all: bool = False, explain: bool = True,
             skip_invalid: bool = False, tagger: Tagger | None = None
             ) -> ArticleTags | list[Tags]:
    """Tag one file as ``classify tag PATH`` does: a JSONL batch (``is_batch_file``, or
    ``input_format`` "jsonl") gives one ``Tags`` per record, each record tagged whole (an
    invalid record raises DataError naming file:line, or with ``skip_invalid`` comes out
    with ``error`` set); any other file is an article (``read_article``, then ``tag_text``
    with ``keep_all``)."""
    if input_format not in ("auto", "text", "jsonl"):
        raise DataError(f"input_format must be auto, text or jsonl, got {input_format!r}")
    _check_flags(keep_all=keep_all, explain=explain, skip_invalid=skip_invalid)
    path = _one_path(path, "path")
    tagger = _tagger(tagger, model_dir)
    if input_format == "jsonl" or (input_format == "auto" and is_batch_file(
            path, ', or input_format="text" tags the file as one article')):
        with open_lines(path) as lines:
            out = list(iter_tag_batch(lines, str(path), tagger, explain=explain,
                                      on_invalid=(lambda _: None) if skip_invalid else None))
        if not out:
            raise DataError(f"{path}: empty input, no record to tag")
        return out
    return tagger.tag_article(read_article(path, input_format), str(path), explain, keep_all)


def article_text(html: str, name: str = "<html>") -> str:
    """The title and main text of an HTML page (trafilatura, the ``html`` extra); a page
    without article text raises DataError naming ``name``."""
    from .webpage import page_text

    if not isinstance(html, str):
        raise DataError(f"{name}: the page must be a str, got {type(html).__name__}")
    return page_text(html, name)


def word_contributions(text: str, part: str = "topics", labels: Sequence[str] | None = None,
                       model_dir: str | Path | None = None, tagger: Tagger | None = None
                       ) -> list[Contributions]:
    """How each word of ``text`` (tagged as one unit) pushed each label of ``part``
    ("topics" or "stance"; ``labels``: default all): ``Contributions`` with the words' offsets
    and signed shares of the label's linear score (what ``--format html`` shades)."""
    from .contributions import contributions

    if part not in ("topics", "stance"):
        raise DataError(f"part must be 'topics' or 'stance', got {part!r}")
    model = _tagger(tagger, model_dir).model
    classes = model.topic_labels if part == "topics" else model.stance_labels
    if not isinstance(text, str):
        raise DataError(f"text must be a str, got {type(text).__name__}")
    if isinstance(labels, str):  # one label, not its letters
        labels = [labels]
    elif labels is not None:
        try:
            labels = list(labels)  # read once, even from a generator
        except TypeError:
            raise DataError(f"labels must be None, a label or a list of labels, got "
                            f"{type(labels).__name__}") from None
    unknown = [x for x in labels or () if x not in classes]
    if unknown:
        raise DataError(f"unknown {part} label(s): {', '.join(map(repr, unknown))}; the "
                        f"model has "
                        f"{', '.join(classes) or 'none'}")
    return contributions(model, text, part,
                         None if labels is None else [classes.index(x) for x in labels])


def article_html(text: str, model_dir: str | Path | None = None, name: str = "<text>",
                 tagger: Tagger | None = None) -> str:
    """An article as a self-contained annotated HTML page (``classify tag --format html``)."""
    from .html import Page

    text = _article_text_arg(text, name)
    tagger = _tagger(tagger, model_dir)
    page = Page(tagger)
    page.add_article(tagger.tag_article(text, name), text)
    return page.render()


def records_html(records: Iterable[dict], model_dir: str | Path | None = None,
                 name: str = "records", tagger: Tagger | None = None,
                 skip_invalid: bool = False) -> str:
    """Records (dicts with ``text`` and optional ``id``, each tagged as one unit) as one
    annotated HTML page with an index of the records; invalid records as in
    ``tag_records``."""
    from .html import Page

    tagger = _tagger(tagger, model_dir)
    page = Page(tagger)
    for i, t in enumerate(tag_records(records, tagger=tagger, skip_invalid=skip_invalid), 1):
        page.add_record(name, i, t)
    return page.render()


AUTO_JOBS_BYTES = 2 * 2**20  # below this, starting worker processes costs more than it saves
AUTO_JOBS_MAX = 4


def auto_jobs(path: str | Path | None) -> int:
    """Processes for tagging a JSONL batch file: one per core this process may use (at most
    ``AUTO_JOBS_MAX``) for a file of ``AUTO_JOBS_BYTES`` or more; 1 for a small file or a
    stream (``None``). Measured on 2 cores: 50,000 headlines (3.8 MB) 0.73 s -> 0.60 s,
    10,000 (0.75 MB) 0.40 s -> 0.45 s."""
    try:
        size = Path(path).stat().st_size if path is not None else 0
    except OSError:
        size = 0
    if size < AUTO_JOBS_BYTES:
        return 1
    return max(1, min(AUTO_JOBS_MAX, usable_cores()))


def iter_tag_batch(lines: Iterable[str], name: str, tagger: Tagger, *, explain: bool = False,
                   jobs: int = 1, model_dir: str | Path | None = None, trust: bool = False,
                   on_invalid: Callable[[str], None] | None = None) -> Iterator[Tags]:
    """Tags of each record of a JSONL batch (decoded lines, e.g. from
    ``data.decoded_lines``), in input order, streaming. Each line is parsed on its own; an
    invalid one raises DataError naming ``name:line`` unless ``on_invalid`` is given, which
    is called with the error and the record comes out as ``Tags`` with ``error`` set (and
    None for topics and scores). ``jobs > 1`` tags in worker processes (they load
    ``model_dir``)."""
    _tagger(tagger, None, required=True)
    _check_callable(on_invalid, "on_invalid")
    _check_flags(explain=explain, trust=trust)
    _check_lines(lines, name)

    def checked(items: Iterable[BatchItem]) -> Iterator[BatchItem]:
        for it in items:
            if it.error is not None:
                _invalid(it.error, on_invalid)
            yield it

    yield from tag_batch(tagger, checked(iter_batch(lines, name)), explain, jobs,
                         None if model_dir is None else str(model_dir), trust)


def iter_render_batch(lines: Iterable[str], name: str, tagger: Tagger, render: Render, *,
                      explain: bool = False, jobs: int = 1,
                      model_dir: str | Path | None = None, trust: bool = False,
                      on_invalid: Callable[[str], None] | None = None,
                      first_line: int = 1) -> Iterator[tuple[int, str]]:
    """Like ``iter_tag_batch``, rendered: (records, text) per chunk of the batch, the text
    made by ``render(chunk, scores, why)`` straight from the score arrays (how
    ``classify tag --format jsonl|json`` writes records); invalid records are ``error``
    lines in the text. ``first_line`` is the number of the first line (``lines`` may be a
    part of a file: errors name the file's line)."""
    _tagger(tagger, None, required=True)
    _check_callable(render, "render", optional=False)
    _check_callable(on_invalid, "on_invalid")
    _check_flags(explain=explain, trust=trust)
    _check_count(first_line, "first_line", 1)
    _check_lines(lines, name)
    for n, block, errors in render_batch(tagger, lines, name, render, jobs,
                                         None if model_dir is None else str(model_dir), trust,
                                         explain=explain, first_line=first_line):
        for e in errors:
            _invalid(e, on_invalid)
        yield n, block


def _invalid(error: str, on_invalid: Callable[[str], None] | None) -> None:
    """An invalid batch record: DataError, unless the caller takes it (``on_invalid``)."""
    if on_invalid is None:
        raise DataError(error)
    on_invalid(error)


def tag_records(records: Iterable[dict], model_dir: str | Path | None = None,
                explain: bool = False, tagger: Tagger | None = None, *,
                skip_invalid: bool = False) -> list[Tags]:
    """Tag records (dicts with ``text`` and optional ``id``), each as one unit.

    An invalid record (not a dict, without a non-empty ``text`` string, or with an ``id``
    that is neither a string nor a number) raises
    ``DataError`` naming it by position, counted from 1 ("record 3: missing or empty 'text'").
    With ``skip_invalid=True`` it comes back in its place as ``Tags`` with ``error`` set and
    ``topics``, ``topic_scores``, ``stance`` and ``stance_scores`` all None, so it cannot pass
    for a record without topics.
    """
    if records is None or isinstance(records, str | bytes | dict) \
            or not hasattr(records, "__iter__"):
        raise DataError(f"records must be an iterable of {{'text': ...}} dicts, got "
                        f"{type(records).__name__}")
    _check_flags(explain=explain, skip_invalid=skip_invalid)
    items = [batch_item(r, f"record {i}") for i, r in enumerate(records, 1)]
    if not skip_invalid:
        bad = next((it for it in items if it.error is not None), None)
        if bad is not None:
            raise DataError(bad.error or bad.where)
    tagger = _tagger(tagger, model_dir)
    return list(tag_batch(tagger, items, explain))


def tag_on_cluster(paths: Sequence[str | Path], client_or_address: distributed.Client | str,
                   model_dir: str | Path | None = None, *,
                   output_dir: str | Path | None = None, skip_invalid: bool = False,
                   partition_bytes: int = DEFAULT_PARTITION_BYTES, explain: bool = False,
                   trust: bool = False, on_failure: Callable[[DataError], None] | None = None,
                   log: Log = lambda _: None,
                   thresholds: Mapping[str, float] | None = None) -> ClusterRun:
    """Tag JSONL batch files on a Dask cluster (``classify tag --scheduler``; needs
    ``pip install 'classify[dask]'``).

    ``client_or_address`` is a ``distributed.Client`` or a scheduler address
    ("tcp://host:8786"; the client is then opened and closed here). Each file is cut at line
    boundaries into partitions of about ``partition_bytes``; workers read them from the
    shared filesystem (they must see ``paths`` and ``model_dir``), load the model once per
    process (SHA-256 checked) and tag with the code of a local run.

    Without ``output_dir`` the returned ``ClusterRun.blocks`` yields the JSONL text in input
    order, byte-identical to ``classify tag --format jsonl``; the work happens as it is
    iterated, and the counts are final when it is exhausted. With ``output_dir`` each
    partition is written to ``part-NNNNN.jsonl`` there, with ``manifest.json``, before this
    returns; calling again resumes (finished partitions whose file is intact are skipped).

    An input that fails (an invalid record without ``skip_invalid``, which is a
    ``cluster.InvalidRecord``; a binary or unreadable file) raises DataError naming
    ``file:line``, unless ``on_failure`` takes it: then the other inputs go on, and
    ``ClusterRun.failures`` lists it. ``log`` gets what resuming decided. ``thresholds``
    replaces topics' decision thresholds as in ``load_tagger`` (recorded in the manifest: a
    run with other overrides starts over).
    """
    from .cluster import require_dask
    from .cluster import tag_on_cluster as run

    require_dask("tag_on_cluster")  # the install hint first
    _check_flags(skip_invalid=skip_invalid, explain=explain, trust=trust)
    _check_callable(on_failure, "on_failure")
    _check_log(log)
    if not isinstance(client_or_address, str | os.PathLike) \
            and not hasattr(client_or_address, "submit"):
        raise DataError(f"client_or_address must be a scheduler address (\"tcp://host:8786\") "
                        f"or a distributed.Client, got {type(client_or_address).__name__}")
    return run(_path_list(paths, "paths"), client_or_address, model_dir_or_default(model_dir),
               output_dir=output_dir, skip_invalid=skip_invalid,
               partition_bytes=partition_bytes, explain=explain, trust=trust,
               on_failure=on_failure, log=log, thresholds=thresholds)


def tag_bag(bag: dask.bag.Bag, model_dir: str | Path | None = None,
            skip_invalid: bool = False, *, explain: bool = False,
            trust: bool = False, thresholds: Mapping[str, float] | None = None
            ) -> dask.bag.Bag:
    """A ``dask.bag`` of records (dicts with ``text`` and optional ``id``, or JSON strings)
    mapped, a partition at a time (``map_partitions``: each is tagged as a batch), to a bag
    of result dicts in the ``Tags.record()`` contract: what ``tag_records`` gives, one per
    record, in order. Lazy, like every bag: computing it tags.

    An invalid record makes the computation raise DataError naming it ("partition 2 record
    7: missing or empty 'text'"), unless ``skip_invalid``: then its result carries ``error``
    and None for topics and scores. The workers load ``model_dir`` (once per process, SHA-256
    checked): they must see it under the same path. ``thresholds`` as in ``load_tagger``.
    """
    from .cluster import require_dask
    from .cluster import tag_bag as run

    require_dask("tag_bag")  # the install hint first
    _check_flags(skip_invalid=skip_invalid, explain=explain, trust=trust)
    if not hasattr(bag, "map_partitions") or not hasattr(bag, "npartitions"):
        raise DataError(f"bag must be a dask.bag.Bag of records, got {type(bag).__name__}")
    return run(bag, model_dir_or_default(model_dir), skip_invalid, explain=explain,
               trust=trust, thresholds=thresholds)


def suggest(pool: str | Path, model_dir: str | Path | None = None, n: int = 50,
            exclude: Sequence[str | Path] | None = None, trust: bool = False,
            diversity: float | None = None, focus: str = "all") -> SuggestResult:
    """The ``n`` items of ``pool`` (a JSONL batch, an article, a directory of them, or ``-``
    for standard input) most worth labelling next for the model, best first (see
    ``classify.suggest``). Texts already labelled are left out: those of the training data
    files the model's meta.json names (a warning says if they are not found) and of
    ``exclude`` (files or directories)."""
    from .suggest import (
        DIVERSITY,
        SuggestResult,
        check_focus,
        read_pool,
        texts_of,
        training_files,
    )
    from .suggest import suggest as _suggest

    _check_count(n, "n", 1)
    if diversity is not None and not (finite_number(diversity) and diversity >= 0):
        raise DataError(f"diversity must be a finite number >= 0, got {diversity!r:.40}")
    _one_path(pool, "pool")  # checked; "-" (a str) stays standard input
    model_dir = model_dir_or_default(model_dir)
    model, meta = _load_model(model_dir, trust=trust)
    check_focus(model, focus, model_dir)  # before the pool is read
    items = read_pool(pool)
    warnings: list[str] = []
    found, missing = training_files(meta, model_dir)
    if missing and not exclude:
        warnings.append(f"{Path(model_dir) / 'meta.json'}: {len(missing)} of the model's "
                        f"training data files are not here ({', '.join(missing[:2])}"
                        f"{', ...' if len(missing) > 2 else ''}): texts labelled in them are "
                        "not excluded; name labelled data with --exclude")
    done: set[str] = set()
    for f in found:  # a file of the model's that cannot be read is the model's, not yours
        try:
            done |= texts_of([f])
        except DataError as e:
            warnings.append(f"{e}: a training data file {Path(model_dir) / 'meta.json'} "
                            "names; its texts are not excluded")
    if exclude:
        done |= texts_of(_path_list(exclude, "exclude"))
    picks, excluded = _suggest(items, model, n, done,
                               DIVERSITY if diversity is None else diversity, focus)
    return SuggestResult(picks, pool=len(items), excluded=excluded, warnings=warnings)


def label(items: str | Path, out: str | Path, model_dir: str | Path | None = None,
          guide: str | Path | None = None, *, fd_in: int | None = None,
          write: Callable[[str], None] | None = None, trust: bool = False) -> LabelResult:
    """Label the texts of ``items`` (a suggestions file or any JSONL with ``text``) in the
    terminal (``fd_in``, default standard input; the screen goes to ``write``, default
    standard output), appending each answer to ``out`` at once (see ``classify.labeller``).
    The labels are the model's; their one-line definitions come from ``guide`` (a
    schema.json; default: the one beside the model's training data, if any)."""
    import sys

    from . import labeller as lb
    from .data import Schema
    from .suggest import normalise as normalise_text

    if fd_in is not None and not whole_number(fd_in):
        raise DataError(f"fd_in must be None (standard input) or a file descriptor (an int), "
                        f"got {fd_in!r:.40}")
    _check_flags(trust=trust)
    _check_callable(write, "write")
    if is_stdin(items) and fd_in is None:
        raise DataError("-: classify label reads your keys from standard input; name a file "
                        "of items (e.g. classify suggest ... > todo.jsonl)")
    _one_path(out, "out")
    if str(out) == STDIN:
        raise DataError("-: answers are appended to a file, and a rerun resumes from it: "
                        "name one (e.g. --out labels/mine.jsonl)")
    if Path(out).suffix.lower() != ".jsonl":
        raise DataError(f"{out}: answers are written as JSONL: name a .jsonl file")
    model_dir = model_dir_or_default(model_dir)
    model, meta = _load_model(model_dir, trust=trust)
    out = Path(out)
    schema = Schema(topics={t: "" for t in model.topic_labels},
                    stances=list(model.stance_labels), closed=True)
    descriptions = _descriptions(meta, model_dir, guide)
    parsed = _guessed_items(items, model, meta)
    skip_path = lb.skipped_path(out)
    for f in (out, skip_path):  # reading a pipe to resume from it would wait forever
        if f.exists() and not f.is_file() and not f.is_dir():
            raise DataError(f"{f}: not a regular file (a pipe or device); answers are "
                            "appended to a file: name one")
    lb.done_texts(out, schema)  # a broken answers file is named first; nothing is written
    lb.done_texts(skip_path)    # (or created) before the terminal is known to be there
    try:
        fd = sys.stdin.fileno() if fd_in is None else fd_in
    except (OSError, ValueError, AttributeError):
        fd = -1
    if fd < 0 or not os.isatty(fd):
        raise DataError("classify label needs a terminal: standard input is not one")
    with lb.locked(out):
        done = set(lb.done_texts(out, schema)) | set(lb.done_texts(skip_path))
        session = lb.Session(parsed, model.topic_labels, model.stance_labels, descriptions,
                             lb.AnswerLog(out), lb.AnswerLog(skip_path), schema, done=done)
        try:
            how = lb.run_terminal(session, fd, write or _write_stdout)
        finally:
            session.answers.close()
            session.skips.close()
    answered = set(lb.done_texts(out))
    skipped = set(lb.done_texts(skip_path))
    keys = [normalise_text(it.text) for it in parsed]
    return lb.LabelResult(out=str(out), items=len(parsed),
                       labelled=sum(k in answered for k in keys),
                       skipped=sum(k in skipped and k not in answered for k in keys),
                       remaining=sum(k not in answered and k not in skipped for k in keys),
                       this_run=session.counts["labelled"], quit=how)


def _guessed_items(path: str | Path, model: Model, meta: dict) -> list:
    """The items of a suggestions file or any JSONL of texts (``labeller.Item``), each with a
    guess: the record's own ``topics``/``stance`` if it has them, else the model's."""
    from .labeller import Item, read_items

    raw = read_items(path)
    need = [i for i, r in enumerate(raw) if "topics" not in r and "stance" not in r]
    guessed: dict[int, Tags] = {}
    if need:
        guessed = dict(zip(need, Tagger(model, meta).tag_texts([raw[i]["text"]
                                                                for i in need]), strict=True))
    out = []
    for i, r in enumerate(raw):
        g = guessed.get(i)
        topics = g.topics if g is not None else r.get("topics")
        stance = g.stance if g is not None else r.get("stance")
        if g is None:  # the record's own guess: in the model's labels, or the tool's
            # pre-annotation would hold labels its config lacks (and not import back)
            if topics is not None and not (isinstance(topics, list) and all(
                    isinstance(t, str) for t in topics)):
                raise DataError(f"{r['_where']}: 'topics' must be a list of label names, got "
                                f"{topics!r:.60}")
            unknown = [t for t in topics or () if t not in model.topic_labels]
            if unknown:
                raise DataError(f"{r['_where']}: unknown topic {unknown[0]!r} (the model has: "
                                f"{', '.join(model.topic_labels) or 'none'})")
            if stance is not None and stance not in model.stance_labels:
                raise DataError(f"{r['_where']}: unknown stance {stance!r} (the model has: "
                                f"{', '.join(model.stance_labels) or 'none'})")
        score = r.get("uncertainty")
        rid = item_id(r, r["_where"])
        out.append(Item(
            id=r["_where"] if rid is None else rid, text=r["text"],
            source=item_id(r, r["_where"], "source") or input_name(path),
            topics=[str(t) for t in topics] if isinstance(topics, list) else [],
            stance=stance if isinstance(stance, str) else None,
            reason=str(r.get("reason") or ""), where=r["_where"],
            score=float(score) if isinstance(score, (int, float)) else None))
    return out


def _descriptions(meta: dict, model_dir: str | Path, guide: str | Path | None
                  ) -> dict[str, str]:
    """Label -> one-line definition: the model's topic descriptions, then ``guide`` (a
    schema.json; default: the one beside the model's training data, if any)."""
    from .data import declared_schema
    from .labeller import guide as read_guide
    from .suggest import training_files

    out = {t: d for t, d in meta.get("labels", {}).get("topics", {}).items() if d}
    if guide is None:  # as ``--data DIR`` finds it
        found, _ = training_files(meta, model_dir)
        guide = next(filter(None, (declared_schema(f.parent) for f in found)), None)
    else:
        guide = _one_path(guide, "guide")
    if guide is not None:
        out.update(read_guide(Path(guide)))
    return out


def export_items(items: str | Path, to: str, model_dir: str | Path | None = None,
                 guide: str | Path | None = None, trust: bool = False) -> Exported:
    """The tasks file of a labelling tool (``to``: label-studio, doccano or prodigy) for the
    items of a suggestions file or any JSONL of texts (``-``: standard input), the model's
    guess pre-annotated (see ``classify.interchange``); for Label Studio also its labelling
    config."""
    from .interchange import TOOLS, Guess, export_tasks

    if to not in TOOLS:
        raise DataError(f"--to must be one of {', '.join(TOOLS)}, got {to!r}")
    _one_path(items, "items")  # checked; "-" (a str) stays standard input
    model_dir = model_dir_or_default(model_dir)
    model, meta = _load_model(model_dir, trust=trust)
    guesses = [Guess(it.id, it.text, it.source, it.topics, it.stance, it.score)
               for it in _guessed_items(items, model, meta)]
    return export_tasks(guesses, to, model.topic_labels, model.stance_labels,
                        _descriptions(meta, model_dir, guide),
                        f"classify {str(meta.get('model_sha256', ''))[:12]}")


def import_file(path: str | Path, tool: str, model_dir: str | Path | None = None,
                trust: bool = False) -> Imported:
    """Training records from a labelling tool's export file (``tool``: label-studio, doccano
    or prodigy), validated against the model's labels (see ``classify.interchange``)."""
    from .data import Schema
    from .interchange import import_records

    _one_path(path, "path")  # checked; "-" (a str) stays standard input
    model, _ = _load_model(model_dir_or_default(model_dir), trust=trust)
    return import_records(path, tool, Schema({t: "" for t in model.topic_labels},
                                             list(model.stance_labels), closed=True))


def _write_stdout(text: str) -> None:
    """A whole screen in one write (a terminal's stdout is line-buffered: line by line, a
    screen would flicker and arrive in pieces)."""
    import sys

    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(text)
    else:
        buffer.write(text.encode(sys.stdout.encoding or "utf-8", "replace"))
        buffer.flush()


def evaluate(data: Sequence[str | Path] | None = None, folds: int = 5,
             opts: TrainOptions | None = None, schema: str | Path | None = None,
             log: Log = lambda _: None, learning_curve: bool = False,
             weights: Mapping[str | Path, float] | None = None,
             tune_on: Sequence[str | Path] | None = None, recipe: bool = True) -> EvalReport:
    """Grouped, stratified k-fold cross-validation of training on ``data``: every F1 with a
    95% bootstrap interval over sources, reliability curves, and with ``learning_curve``
    macro-F1 at 5 training sizes (``report.learning_curve``). Each training fold is weighted
    by ``weights``, re-tuned on its records of ``tune_on`` and trained with a data
    directory's recipe (``recipe``), as in ``train``; the scores count every record once."""
    from .evaluate import cross_validate

    _check_count(folds, "folds", 2)
    _check_log(log)
    opts, weights, used = with_recipe(data, opts, weights, recipe)
    dataset = load_data(data, schema, weights, tune_on)
    _log_data_warnings(dataset, log)
    rep = cross_validate(dataset, folds, opts, log, learning_curve=learning_curve)
    if used:
        rep.settings["recipe"] = used
    return rep


def audit(data: Sequence[str | Path] | None = None, folds: int = 5,
          opts: TrainOptions | None = None, schema: str | Path | None = None,
          guide: str | Path | None = None, log: Log = lambda _: None,
          weights: Mapping[str | Path, float] | None = None,
          recipe: bool = True) -> AuditReport:
    """Label audit of labelled data: an ``AuditReport`` whose ``findings`` (``Finding``
    dataclasses, most suspect first) name ``file:line``, the current and suggested labels, a
    confidence and the guide's definitions (see ``classify.audit``). The out-of-fold models
    are trained with ``weights`` and a data directory's recipe (``recipe``), as in ``train``
    (it ranks on probabilities, so thresholds, and ``train``'s ``tune_on``, play no part)."""
    from .audit import audit as _audit

    _check_count(folds, "folds", 2)
    _check_log(log)
    if guide is not None:
        guide = _one_path(guide, "guide")
        if not guide.is_file():
            why = "not a regular file" if guide.exists() else "no such file"
            raise DataError(f"{guide}: {why} (--guide names the labelling guide)")
    opts, weights, _ = with_recipe(data, opts, weights, recipe)
    paths = _data_paths(data)
    dataset = load_data(paths, schema, weights)
    _log_data_warnings(dataset, log)
    return _audit(dataset, paths, folds, opts, guide, log=log)


def convert_model(model_dir: str | Path, output: str | Path | None = None,
                  trust: bool = False) -> str:
    """Re-save an old pickle model directory (needs ``trust``) in today's format."""
    if not isinstance(trust, bool):
        raise ModelError(f"trust must be True or False, got {trust!r:.40}")
    if not trust:
        raise ModelError(f"{model_dir}: converting loads the old pickle, which can run code; "
                         "pass --trust if it comes from a source you trust")
    out = Path(model_dir) if output is None else _one_path(output, "output")
    model, meta = _load_model(model_dir, trust=True)
    if str(meta.get("model_file", "")).endswith(".npz"):
        raise ModelError(f"{model_dir}: already in today's format (an .npz model file and "
                         "meta.json); nothing to convert")
    keep = {k: meta[k] for k in ("labels", "article_rule", "data", "training", "cv_note")
            if k in meta}
    keep["thresholds"] = ({t: round(float(v), 4) for t, v in zip(
        model.topic_labels, model.topics.thresholds, strict=True)} if model.topics else {})
    save_model(model, out, {**keep, "converted_from": {
        "directory": str(model_dir), "model_file": meta.get("model_file"),
        "format": meta.get("format", 1)}})
    return str(out)


def evaluate_on(model_dir: str | Path, test: Sequence[str | Path], trust: bool = False,
                seed: int = 0, thresholds: Mapping[str, float] | None = None,
                log: Log = lambda _: None) -> EvalReport:
    """Score a trained model on held-out labelled data (intervals resample its sources with
    ``seed``); ``thresholds`` replaces topics' decision thresholds as ``load_tagger`` does,
    to measure a bar before tagging with it. Labels of the data that the model does not have
    are in the report's ``fallbacks`` and logged as warnings."""
    from .evaluate import evaluate_model

    _check_count(seed, "seed", 0)
    _check_log(log)
    files = _path_list(test, "test")
    if not files:
        raise DataError("no test data given: name labelled files to score the model on")
    model, meta = _load_model(model_dir, trust=trust)
    model = model.with_thresholds(thresholds or {})
    rep = evaluate_model(model, meta, load_dataset(files), str(model_dir), seed=seed, log=log)
    bars = model.info.get("threshold_overrides")
    if bars:
        rep.settings["thresholds"] = dict(bars)
        rep.description += " with " + ", ".join(f"{k} threshold {v:g}"
                                                for k, v in bars.items())
    return rep
