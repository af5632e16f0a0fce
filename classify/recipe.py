"""The training recipe a data directory carries: ``recipe.json`` beside its data.

It holds the training options that were chosen for that data by measurement (a threshold
strategy, a target prevalence, fixed model parameters) and names the files of the corpus they
were chosen on. ``classify train``, ``evaluate`` and ``audit`` on that directory use the
recipe's options wherever no option says otherwise, and every data file that is not in the
corpus (your own labels on top of it) weighs ``own_weight`` unless ``--weight`` names it. So
a plain ``classify train`` rebuilds the bundled model, and labels added to ``labels/`` count.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .data import data_files, declared_schema, files_under, parse_weight, read_json_file
from .errors import DataError
from .model import TrainOptions, check_fixed_params
from .thresholds import STRATEGIES

RECIPE_NAME = "recipe.json"
KEYS = ("about", "thresholds", "prevalence", "params", "own_weight", "corpus")


@dataclass(frozen=True)
class Recipe:
    path: Path
    thresholds: str | None = None
    prevalence: float | None = None
    params: dict | None = None
    own_weight: float = 1.0
    corpus: tuple[str, ...] = ()  # the corpus's data files, relative to the recipe's directory


def load_recipe(path: Path) -> Recipe:
    """A recipe file, checked; a one-line DataError naming the file for anything amiss."""
    raw = read_json_file(path, "the training recipe")
    if not isinstance(raw, dict):
        raise DataError(f"{path}: a training recipe must be a JSON object with any of "
                        f"{', '.join(KEYS)}")
    unknown = [k for k in raw if k not in KEYS]
    if unknown:
        raise DataError(f"{path}: unknown key {unknown[0]!r} (a recipe has {', '.join(KEYS)})")
    thresholds, q = raw.get("thresholds"), raw.get("prevalence")
    if thresholds is not None and thresholds not in STRATEGIES:
        raise DataError(f"{path}: 'thresholds' must be one of {', '.join(STRATEGIES)}, got "
                        f"{thresholds!r:.40}")
    if q is not None and (isinstance(q, bool) or not isinstance(q, int | float)
                          or not 0 < q < 1):
        raise DataError(f"{path}: 'prevalence' must lie strictly between 0 and 1, got "
                        f"{q!r:.40}")
    params = raw.get("params")
    if params is not None:
        try:
            if not isinstance(params, dict):
                raise TypeError(f"an object of 'topics' and/or 'stance', got {params!r:.40}")
            check_fixed_params(params)
        except (ValueError, TypeError, KeyError, DataError) as e:
            raise DataError(f"{path}: 'params' cannot be trained with: "
                            f"{' '.join(str(e).split())}") from None
    own = raw.get("own_weight", 1)
    if isinstance(own, str):  # parse_weight reads CSV cells' strings; JSON has numbers
        raise DataError(f"{path}: 'own_weight' must be a number, got {own!r:.40}")
    own = parse_weight(own, f"{path}: 'own_weight'")
    corpus = raw.get("corpus", [])
    if not isinstance(corpus, list) or not all(isinstance(c, str) and c for c in corpus):
        raise DataError(f"{path}: 'corpus' must be a list of data file names")
    for name in corpus:
        if not (path.parent / name).is_file():
            raise DataError(f"{path}: its corpus names {name}, which is not in "
                            f"{path.parent} (put it back, take it off the list, or train "
                            f"with --no-recipe)")
    return Recipe(path, thresholds, None if q is None else float(q), params, own,
                  tuple(corpus))


def find_recipe(paths: Sequence[str | Path]) -> Recipe | None:
    """The recipe of the data directories among ``paths``, if one has a ``recipe.json``;
    two directories that each have one are a DataError (which would decide is not clear)."""
    found = [f for p in paths if Path(p).is_dir()
             and (f := declared_schema(Path(p), RECIPE_NAME)) is not None]
    if len(found) > 1:
        raise DataError(f"{found[0]} and {found[1]}: two training recipes; train on one of "
                        f"their directories, or give --no-recipe")
    return load_recipe(found[0]) if found else None


def apply_recipe(paths: Sequence[str | Path], opts: TrainOptions,
                 weights: Mapping[str | Path, float] | None
                 ) -> tuple[TrainOptions, Mapping[str | Path, float] | None, dict]:
    """``opts`` and ``weights`` with the recipe of ``paths`` filled in, and what it set (for
    meta.json and the summary; {} without a recipe). An option already set keeps its value:
    ``thresholds``, ``prevalence``, and the recipe's ``params`` unless ``C``, ``fast`` or
    ``params`` says otherwise. The data files outside its corpus that no key of ``weights``
    covers weigh ``own_weight``."""
    recipe = find_recipe(paths)
    if recipe is None:
        return opts, weights, {}
    taken: dict = {}
    if opts.thresholds is None and recipe.thresholds is not None:
        taken["thresholds"] = recipe.thresholds
    if opts.prevalence is None and recipe.prevalence is not None:
        taken["prevalence"] = recipe.prevalence
    if (recipe.params is not None and opts.params is None and opts.C is None
            and not opts.fast):
        taken["params"] = recipe.params
    corpus = {(recipe.path.parent / c).resolve() for c in recipe.corpus}
    files, _ = data_files(paths, schema_too=False)
    if weights is not None and not isinstance(weights, Mapping):
        return replace(opts, **taken), weights, {"file": str(recipe.path), "options": taken}
    given = dict(weights or {})
    # the files a --weight names keep its weight (a key naming none is refused, as by
    # data.file_weights)
    covered = {f for key in given for f in files_under(files, key, "--weight")}
    own = [f for f in dict.fromkeys(files) if f.resolve() not in corpus and f not in covered]
    out = weights
    if own and not math.isclose(recipe.own_weight, 1.0):
        out = {**{str(f): recipe.own_weight for f in own}, **given}
    info = {"file": str(recipe.path), "options": taken,
            **({"own_weight": recipe.own_weight, "own_files": [str(f) for f in own]}
               if own else {})}
    return replace(opts, **taken), out, info


def describe(info: dict) -> str:
    """One line on what a recipe set, for the CLI."""
    opts = info.get("options", {})
    parts = [f"thresholds {opts['thresholds']}" if "thresholds" in opts else "",
             f"prevalence {opts['prevalence']:g}" if "prevalence" in opts else "",
             "its fixed parameters" if "params" in opts else ""]
    said = ", ".join(p for p in parts if p) or "no option (the flags set them)"
    own = info.get("own_files")
    if own:
        said += (f"; {len(own)} file(s) outside its corpus x{info['own_weight']:g} "
                 f"({', '.join(own[:3])}{', ...' if len(own) > 3 else ''})")
    return f"recipe {info['file']}: {said} (--no-recipe to train without it)"
