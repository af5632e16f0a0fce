"""Command line: a thin layer over :mod:`classify.api`."""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import json
import math
import os
import shlex
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn, TextIO

from . import __version__, api, interrupts
from .cluster import DEFAULT_PARTITION_BYTES
from .data import (
    STDIN,
    STDIN_NAME,
    decode_bytes,
    decoded_lines,
    input_name,
    is_stdin,
    json_object_line,
    missing,
    stdin_bytes,
)
from .errors import ClassifyError, DataError
from .model import TrainOptions
from .output import FORMATS, Writer, visible
from .persist import write_output_file, write_output_files
from .tagging import Tagger
from .thresholds import METRICS, STRATEGIES, TUNE_PRIOR
from .webpage import looks_like_html

PROG = "classify"
#: cross-validation folds of evaluate and audit unless --folds says otherwise
FOLDS = 5


def _err(msg: str) -> None:
    """One line on stderr: line breaks inside the message (a path can hold one) are shown
    escaped."""
    one = visible(msg.replace("\r", "\\r").replace("\n", "\\n"))
    print(f"{PROG}: {one}", file=sys.stderr, flush=True)


def _log(quiet: bool, verbose: bool = False):
    """Progress messages on stderr (silenced by --quiet); warnings are always shown, details
    (such as every conflicting duplicate) only with --verbose."""
    def log(msg: str) -> None:
        if msg.startswith("warning:"):
            _err(msg)
        elif msg.startswith("detail:"):
            if verbose:
                _err(msg)
        elif not quiet:
            print(msg, file=sys.stderr, flush=True)
    return log


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int | None, unit: str, desc: str):
    """A tqdm progress bar on stderr when it is a terminal; silent (and tqdm not even
    imported) otherwise."""
    if not sys.stderr.isatty():
        return _NoBar()
    from tqdm import tqdm
    return tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, leave=False,
                dynamic_ncols=True)


# ---------------------------------------------------------------- train


def _train_options(args: argparse.Namespace) -> TrainOptions:
    """TrainOptions from the flags of ``training_flags`` (and train's own --cv-folds and
    --params-from, where the command has them)."""
    params_from = getattr(args, "params_from", None)
    return TrainOptions(C=args.C, cv_folds=getattr(args, "cv_folds", TrainOptions.cv_folds),
                        char_ngrams=False if args.no_char else None,
                        seed=args.seed, fast=args.fast, jobs=args.jobs,
                        lexicon=not args.no_lexicon, metric=args.metric,
                        thresholds=args.thresholds,
                        prevalence=getattr(args, "prevalence", None),
                        params=api.model_params(params_from) if params_from else None)


def cmd_train(args: argparse.Namespace) -> int:
    opts = _train_options(args)
    log = _log(args.quiet or args.json)
    log(f"training on {', '.join(args.data or [api.DEFAULT_DATA])} ...")
    res = api.train(args.data, args.model, opts, args.schema,
                    log=_log(args.quiet, args.verbose), weights=_weights(args.weight),
                    tune_on=args.tune_on, recipe=not args.no_recipe)
    if args.json:
        out = {k: v for k, v in res.to_dict().items() if k != "meta"}
        out["recipe"] = res.meta["data"].get("recipe")  # what labels/recipe.json set, or None
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    from .selection import describe

    meta = res.meta
    print(f"trained on {res.records:,} records "
          f"({meta['data']['topic_records']:,} with topics, "
          f"{meta['data']['stance_records']:,} with stance)")
    recipe = meta["data"].get("recipe", {})
    if recipe.get("options") or recipe.get("own_files"):  # not when the flags set it all
        from .recipe import describe as recipe_line

        print(recipe_line(recipe))
    weights = meta["data"].get("weights")
    if weights:
        files = ", ".join(f"{f} x{w:g}" for f, w in weights["files"].items())
        print(f"weighted: {weights['weighted_records']:,} records" + (f" ({files})" if files
                                                                     else ""))
    tuned = res.info.get("topics", {}).get("tuned_on")
    if tuned:
        moved = ", ".join(f"{t} {b:.3f} -> {meta['thresholds'][t]:.3f}"
                          for t, b in tuned["base_thresholds"].items()
                          if abs(b - meta["thresholds"][t]) >= 0.0005) or "none moved"
        print(f"thresholds re-tuned on {tuned['records']:,} records of "
              f"{', '.join(meta['data']['tune_on'])}: {moved}")
    for part, labels in (("topics", res.topic_labels), ("stance", res.stance_labels)):
        if part not in res.info:
            continue
        print(f"\n{part} ({len(labels)}): {_short_list(labels)}")
        trials = res.info[part].get("trials", [])
        if trials:
            print(f"  {'candidate':<62} {'micro-F1':>8} {'macro-F1':>8} {'s':>6}")
            for t in trials:
                mark = "*" if t["chosen"] else " "
                print(f"{mark} {describe(t):<62.62} {t['micro_f1']:>8.4f} "
                      f"{t['macro_f1']:>8.4f} {t['seconds']:>6.1f}")
        how = ("chosen by internal CV (* above)" if trials else
               "fixed (--fast, --C, --params-from, the recipe, or too little data for "
               "internal CV)")
        print(f"  model: {describe(res.info[part].get('params', res.info[part]))}; {how}")
    print()
    print(f"model saved to {res.model_dir} ({meta['model_file']}, meta.json)")
    print("(internal CV scores are optimistic; run 'classify evaluate' for honest ones)")
    return 0


def _weights(specs: list[str] | None) -> dict[str, float]:
    """``--weight PATH=W`` (or ``PATH`` alone: ``api.OWN_LABELS_WEIGHT``) as a dict."""
    out: dict[str, float] = {}
    for spec in specs or []:
        path, eq, value = spec.rpartition("=")
        if not eq or Path(spec).exists():
            path, w = spec, api.OWN_LABELS_WEIGHT
        elif not path:
            raise DataError(f"--weight {spec}: name a data file or directory before '='")
        else:
            try:
                w = float(value)
            except ValueError:
                raise DataError(f"--weight {spec}: the weight after '=' must be a number"
                                ) from None
        if path in out:
            raise DataError(f"--weight {spec}: {path} has a weight already; give each path "
                            "once")
        out[path] = w
    return out


def _same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def _not_an_input(out: str | None, flag: str, inputs: list[str | Path]) -> None:
    """Stop before ``out`` (an output path) replaces one of the command's input files (a
    directory stands for every file in it: data files, a model's files)."""
    if not out:
        return
    for src in inputs:
        if is_stdin(src) or not Path(src).exists():
            continue
        files = [f for f in Path(src).rglob("*") if f.is_file()] if Path(src).is_dir() \
            else [Path(src)]
        if any(_same_file(out, f) for f in files):
            raise DataError(f"{flag} {out}: that is an input file; write the output "
                            "elsewhere")


def _report_writable(report: str | None) -> None:
    """Stop before the work when the report cannot be written where asked (a directory in
    the way, no such directory); a full disk still shows only when writing."""
    if not report or report.startswith("/dev/"):
        return
    p = Path(report)
    if p.is_dir():
        raise DataError(f"{report}: cannot write: Is a directory")
    if not p.parent.is_dir():
        raise DataError(f"{report}: cannot write: no directory {p.parent}")
    if not os.access(p.parent, os.W_OK):  # not after the whole cross-validation
        raise DataError(f"{report}: cannot write: {p.parent} is not writable")


def _data_inputs(args: argparse.Namespace) -> list[str | Path]:
    """The files and directories a training command reads: its data (``labels/`` unless
    given), schema and test file."""
    return [*(args.data or [api.DEFAULT_DATA]), *(getattr(args, "test", None) or []),
            *([args.schema] if getattr(args, "schema", None) else [])]


def _short_list(items: list[str], n: int = 12) -> str:
    return ", ".join(items[:n]) + (f", ... (+{len(items) - n} more)" if len(items) > n else "")


# ---------------------------------------------------------------- tag


def _iter_inputs(inputs: list[str], failures: list[str]) -> Iterator[Path | str]:
    for name in inputs:
        if is_stdin(name):
            yield STDIN
            continue
        p = Path(name)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if not any(
                part.startswith(".") for part in f.relative_to(p).parts))
            files = [f for f in files if not f.is_dir()]
            if not files:
                failures.append(f"{p}: directory holds no files to tag")
                _err(f"error: {failures[-1]}")
            for f in files:
                if f.exists() and not f.is_file():  # reading a pipe would wait forever
                    failures.append(f"{f}: {missing(f)}")
                    _err(f"error: {failures[-1]}")
                else:
                    yield f
        elif p.exists():
            yield p
        else:
            failures.append(f"{p}: {missing(p)}")
            _err(f"error: {failures[-1]}")


def _is_batch(path: Path | str, first_line: bytes, mode: str) -> bool:
    if mode != "auto":
        return mode == "jsonl"
    if isinstance(path, Path):
        return api.is_batch_file(path, ", or --input-format text tags the file as one "
                                       "article")
    return json_object_line(first_line)


def _tag_batch_source(tagger: Tagger, writer: Writer, name: str, lines, args,
                      skipped: list[str]) -> None:
    def invalid(error: str) -> None:
        skipped.append(error)

    def stop(error: str) -> None:
        raise DataError(f"{error} (use --skip-invalid to tag the rest)")

    on_invalid = invalid if args.skip_invalid else stop
    bar = _progress(None, "rec", name)
    model_dir = str(api.model_dir_or_default(args.model))
    jobs = api.auto_jobs(None if name == STDIN_NAME else name) if args.jobs == "auto" \
        else args.jobs
    records = 0
    try:
        if writer.renderer is not None:
            for n, block in api.iter_render_batch(lines, name, tagger, writer.renderer,
                                                  explain=args.explain, jobs=jobs,
                                                  model_dir=model_dir, trust=args.trust,
                                                  on_invalid=on_invalid):
                writer.records(block)
                interrupts.checkpoint("mid-tag")
                bar.update(n)
                records += n
        else:
            for i, t in enumerate(api.iter_tag_batch(lines, name, tagger,
                                                     explain=args.explain, jobs=jobs,
                                                     model_dir=model_dir, trust=args.trust,
                                                     on_invalid=on_invalid), 1):
                writer.record(name, i, t)
                interrupts.checkpoint("mid-tag")
                bar.update(1)
                records = i
    finally:
        bar.close()
    if not records:
        raise DataError(f"{name}: empty input, no record to tag")


def _cluster_inputs(args: argparse.Namespace, failures: list[str]) -> list[Path]:
    """The JSONL batch files to tag on the cluster; anything else is a failed input."""
    files = []
    for src in _iter_inputs(args.inputs, failures):
        if is_stdin(src):
            failures.append("-: --scheduler tags files the workers can read, not standard "
                            "input")
        else:
            try:
                if _is_batch(src, b"", args.input_format):
                    if not _has_content(Path(src)):  # as a local run says
                        raise DataError(f"{src}: empty input, no record to tag")
                    files.append(Path(src))
                    continue
                failures.append(f"{src}: not a .jsonl batch; --scheduler tags JSONL batches "
                                "(--input-format jsonl reads any file as one)")
            except DataError as e:  # a .csv, or a .json document
                failures.append(str(e))
        _err(f"error: {failures[-1]}")
    return files


def _has_content(path: Path) -> bool:
    """Whether a file holds anything but white space (read until it does; unreadable: True,
    named when it is read)."""
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 16):
                if chunk.strip():
                    return True
    except OSError:
        return True
    return False


def cmd_tag_on_cluster(args: argparse.Namespace) -> int:
    """``classify tag --scheduler``: JSONL batches tagged by a Dask cluster's workers, to
    stdout in input order or into --output-dir (resumable)."""
    from .cluster import InvalidRecord, require_dask

    if args.format not in ("jsonl", "json") or (args.output_dir and args.format != "jsonl"):
        raise ClassifyError("--scheduler writes JSON records: use --format jsonl (or json, "
                            "without --output-dir)")
    if args.jobs not in (1, "auto"):
        raise ClassifyError("--jobs is for local runs; with --scheduler the cluster's "
                            "workers tag")
    require_dask("--scheduler")
    failures: list[str] = []
    files = _cluster_inputs(args, failures)
    if not files:  # nothing for the cluster: each input was reported
        return 1

    def on_failure(e: DataError) -> None:
        msg = str(e) + (" (use --skip-invalid to tag the rest)"
                        if isinstance(e, InvalidRecord) else "")
        failures.append(msg)
        _err(f"error: {msg}")

    run = api.tag_on_cluster(files, args.scheduler, args.model, output_dir=args.output_dir,
                             skip_invalid=args.skip_invalid,
                             partition_bytes=args.partition_size,
                             explain=args.explain, trust=args.trust, on_failure=on_failure,
                             log=_err, thresholds=_thresholds(args.threshold))
    bar = _progress(None, "part", "partitions")
    try:
        if args.output_dir is None:
            writer = Writer(sys.stdout, args.format, [], [], args.explain)
            writer.begin()
            for block in run.blocks:
                writer.records(block)
                interrupts.checkpoint("mid-tag")
                bar.update(1)
            writer.end()
    finally:
        bar.close()
    if run.invalid:
        _err(f"skipped {run.invalid} invalid record(s): " + "; ".join(run.invalid_examples)
             + (" ..." if run.invalid > len(run.invalid_examples) else ""))
    if args.output_dir is not None:
        _err(f"{run.records:,} records in {run.done + run.skipped} of {run.partitions} "
             f"partitions in {args.output_dir} ({run.done} tagged now, {run.skipped} skipped: "
             f"done by an earlier run); see {Path(args.output_dir) / 'manifest.json'}")
    if failures:
        if len(failures) > 1:
            _err(f"{len(failures)} input(s) failed; the others were tagged")
        return 1
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    if args.scheduler is not None:
        return cmd_tag_on_cluster(args)
    if args.output_dir is not None or not isinstance(args.partition_size, _DefaultSize):
        raise ClassifyError("--output-dir and --partition-size need --scheduler")
    if sum(map(is_stdin, args.inputs)) > 1:  # the second would find it read already
        raise ClassifyError("-: standard input is given more than once; it can be read once")
    tagger = api.load_tagger(args.model, trust=args.trust,
                             thresholds=_thresholds(args.threshold))
    out: TextIO = sys.stdout
    writer = Writer(out, args.format, tagger.topic_labels, tagger.stance_labels, args.explain,
                    tagger=tagger)
    failures: list[str] = []
    skipped: list[str] = []
    writer.begin()
    tried = failed_here = 0  # inputs read, and of them the ones that failed
    for src in _iter_inputs(args.inputs, failures):
        name = input_name(src)
        tried += 1
        try:
            if is_stdin(src):
                stream = stdin_bytes()
                first = stream.peek(65536).split(b"\n", 1)[0] if hasattr(stream, "peek") \
                    else b""
                if _is_batch(src, first, args.input_format):
                    _tag_batch_source(tagger, writer, name, decoded_lines(stream, name), args,
                                      skipped)
                    continue
                data = stream.read()
                text = decode_bytes(data, name)
                if args.input_format == "auto" and looks_like_html(data):
                    text = api.article_text(text, name)
            elif _is_batch(src, b"", args.input_format):
                try:
                    fh = open(src, "rb")  # noqa: SIM115 - closed below
                except OSError as e:
                    raise DataError(f"{src}: cannot read: {e.strerror}") from None
                with fh:
                    _tag_batch_source(tagger, writer, name, decoded_lines(fh, name), args,
                                      skipped)
                continue
            else:
                text = api.read_article(src, args.input_format)
            if not text.strip():
                raise DataError(f"{name}: empty input, nothing to tag")
            writer.article(tagger.tag_article(text, name, explain=args.explain
                                              or args.format == "text",
                                              keep_all=args.keep_all), text)
            interrupts.checkpoint("mid-tag")
        except DataError as e:
            failures.append(str(e))
            failed_here += 1
            _err(f"error: {e}")
    writer.end()
    if skipped:
        _err(f"skipped {len(skipped)} invalid record(s): " + "; ".join(skipped[:5])
             + (" ..." if len(skipped) > 5 else ""))
    if failures:
        if len(failures) > 1:
            _err(f"{len(failures)} input(s) failed; "
                 + ("the others were tagged" if tried > failed_here else "nothing was tagged"))
        return 1
    return 0


# ---------------------------------------------------------------- evaluate


def _report_format(path: str) -> str:
    """Report format from the file name: .html/.htm, .json, .txt, otherwise Markdown."""
    suffix = Path(path).suffix.lower()
    formats = {".html": "html", ".htm": "html", ".json": "json", ".txt": "text"}
    return formats.get(suffix, "md")


def _training_flags_given(args: argparse.Namespace) -> list[str]:
    """The flags of ``training_flags`` (and --folds) given away from their defaults: they
    shape a training, which scoring a trained model does not run."""
    given = {"--data": args.data, "--weight": args.weight,
             "--tune-on": getattr(args, "tune_on", None),
             "--prevalence": getattr(args, "prevalence", None) is not None,
             "--schema": args.schema, "--C": args.C is not None,
             "--thresholds": args.thresholds, "--fast": args.fast,
             "--metric": args.metric != TrainOptions.metric, "--no-char": args.no_char,
             "--no-lexicon": args.no_lexicon, "--folds": args.folds != FOLDS}
    return [flag for flag, on in given.items() if on]


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .report import render, summary_lines

    log = _log(args.quiet or args.json, args.verbose)
    model_dir = api.model_dir_or_default(args.model)
    _not_an_input(args.report, "--report",
                  [*args.test, model_dir] if args.test else _data_inputs(args))
    _report_writable(args.report)
    if args.test:
        if args.learning_curve:
            raise DataError("--learning-curve needs cross-validation (it retrains); drop "
                            "--model/--test")
        ignored = _training_flags_given(args)
        if ignored:
            raise DataError(f"{', '.join(ignored)}: for training, and --model/--test scores "
                            "a model already trained; drop "
                            f"{'them' if len(ignored) > 1 else 'it'}, or drop --model/--test "
                            "to cross-validate")
        rep = api.evaluate_on(model_dir, args.test, trust=args.trust, seed=args.seed,
                              thresholds=_thresholds(args.threshold), log=log)
    else:
        if args.threshold:
            raise DataError("--threshold scores a trained model's bar: use it with --model "
                            "and --test (cross-validation tunes thresholds in every fold)")
        if args.model is not None:
            raise DataError("--model needs --test (held-out data); without --model, "
                            "evaluate cross-validates training on --data")
        rep = api.evaluate(args.data, args.folds, _train_options(args), args.schema, log=log,
                           learning_curve=args.learning_curve, weights=_weights(args.weight),
                           tune_on=args.tune_on, recipe=not args.no_recipe)
    if args.report:
        fmt = _report_format(args.report)
        write_output_file(args.report, render(rep, fmt))
        log(f"report written to {args.report}")
        if fmt == "html":
            from .charts import HINT, available

            if not available():
                log(f"no charts in the report: {HINT}")
    if args.json:
        sys.stdout.write(render(rep, "json"))
    else:
        sys.stdout.write(render(rep, "text") if not args.report
                         else "\n".join(summary_lines(rep)) + "\n")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from .audit import render, summary

    log = _log(args.quiet, args.verbose)
    _not_an_input(args.report, "--report", _data_inputs(args))
    _report_writable(args.report)
    rep = api.audit(args.data, args.folds, _train_options(args), args.schema, args.guide,
                    log=log, weights=_weights(args.weight), recipe=not args.no_recipe)
    fmt = args.format
    if args.report:
        fmt = fmt or {".html": "html", ".htm": "html", ".jsonl": "jsonl", ".json": "jsonl"
                      }.get(Path(args.report).suffix.lower(), "md")
        write_output_file(args.report, render(rep, fmt))
        log(f"{summary(rep)}; report written to {args.report}")
    else:
        sys.stdout.write(render(rep, fmt or "md"))
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:
    from .suggest import render_jsonl, render_text

    res = api.suggest(args.pool, args.model, args.n, args.exclude, trust=args.trust,
                      diversity=args.diversity, focus=args.focus)
    for w in res.warnings:
        _err(f"warning: {w}")
    render = render_jsonl if args.format == "jsonl" else render_text
    sys.stdout.write(render(res.suggestions))
    if not args.quiet:
        _err(f"{len(res.suggestions)} suggestion(s) from {res.pool:,} distinct pool item(s) "
             f"({res.excluded:,} already labelled, left out)")
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    _not_an_input(args.out, "--out", [args.file])
    res = api.label(args.file, args.out, args.model, args.guide, trust=args.trust)
    print(f"{res.this_run} answer(s) written this run; {args.out}: {res.labelled} of "
          f"{res.items} items labelled, {res.skipped} skipped, {res.remaining} left"
          + ("" if res.remaining else " (all done)"))
    if res.labelled:
        print("retrain with: " + shlex.join(api.retrain_command(args.out, args.model)))
    if res.quit == "interrupted":
        _err("interrupted (SIGINT); every answer given is saved")
        return 130
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    _not_an_input(args.out, "--out", [args.file])
    if args.config and args.to != "label-studio":
        raise DataError(f"--config is Label Studio's labelling config; --to {args.to} has "
                        "none: drop --config")
    res = api.export_items(args.file, args.to, args.model, args.guide, trust=args.trust)
    files: list[tuple[str, str]] = [(args.out, res.text)] if args.out else []
    msg = f"{res.items} item(s) exported for {res.tool}" + (f" to {args.out}" if args.out
                                                            else "")
    if res.label_config is not None:
        config = args.config or (str(Path(args.out).with_suffix(".xml")) if args.out
                                 else "label_config.xml")
        if not (args.config or args.out) and Path(config).exists():
            # tasks to stdout: the config's default name is not one the user gave
            raise DataError(f"{config} already exists in the current directory; name the "
                            "labelling config with --config FILE (the same name replaces it)")
        _not_an_input(config, "--config", [args.file])
        if args.out and _same_file(config, args.out):
            raise DataError(f"--config {config}: the same file as --out; name another")
        files.append((config, res.label_config))
        msg += f"; labelling config: {config}"
    write_output_files(files)  # all or none: a failed config write keeps the old --out
    if not args.out:
        sys.stdout.write(res.text)
    _err(msg)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    _not_an_input(args.out, "--out", [args.file])
    res = api.import_file(args.file, args.from_, args.model, trust=args.trust)
    if not res.records:
        raise DataError(f"{args.file}: no annotated item to import"
                        + (f" ({len(res.left_out)} not annotated)" if res.left_out else "")
                        + f"; {args.out} not written")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_output_file(args.out, "".join(json.dumps(r, ensure_ascii=False) + "\n"
                                        for r in res.records))
    _err(f"{len(res.records)} record(s) imported from {res.tool} into {args.out}"
         + (f"; {len(res.left_out)} item(s) not annotated, left out" if res.left_out
            else ""))
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    out = api.convert_model(args.model, args.output, trust=args.trust)
    print(f"model saved to {out} as data (.npz + meta.json)")
    return 0


# ---------------------------------------------------------------- parser


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: X)" to an option's help unless its help already says its default or
    there is none to show (None, or an off switch)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default in (None, False) or "default" in text.lower():
            return text
        return super()._get_help_string(action)


def _int(value: str, least: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if n < least:
        raise argparse.ArgumentTypeError(f"must be at least {least}, got {n}")
    return n


def _positive(value: str) -> int:
    return _int(value, 1)


def _path(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("an empty path")
    return value


def _folds(value: str) -> int:
    return _int(value, 2)


def _seed(value: str) -> int:
    n = _int(value, 0)
    if n >= 2**32:
        raise argparse.ArgumentTypeError(f"must be below 2**32, got {n}")
    return n


def _jobs(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        return _positive(value)
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f"{e} (a number of processes, or auto)") from None


class _DefaultSize(int):
    """--partition-size when not given: shown as "64MB" in --help, and told apart from a
    size the user gave (which needs --scheduler)."""

    def __str__(self) -> str:
        return f"{self // 2**20}MB"


def _size(value: str) -> int:
    from .cluster import parse_size

    try:
        return parse_size(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _float(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {value}")
    return x


def _threshold(value: str) -> tuple[str, float]:
    """``--threshold LABEL=SCORE`` (the label as written: labels may hold spaces or '=')."""
    label, eq, score = value.rpartition("=")
    if not eq or not label.strip():
        raise argparse.ArgumentTypeError(f"{value!r}: give TOPIC=SCORE, e.g. immigration=0.5")
    x = _float(score)
    if not 0.0 <= x <= 1.0:
        raise argparse.ArgumentTypeError(f"{value!r}: the score must lie between 0 and 1")
    return label, x


def _thresholds(pairs: list[tuple[str, float]] | None) -> dict[str, float]:
    """The ``--threshold`` options as a dict; a topic given twice is an error."""
    out: dict[str, float] = {}
    for label, x in pairs or []:
        if label in out:
            raise DataError(f"--threshold {label}: given twice ({out[label]:g} and {x:g}); "
                            "give each topic once")
        out[label] = x
    return out


def _positive_float(value: str) -> float:
    x = _float(value)
    if not x > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return x


def _nonnegative_float(value: str) -> float:
    x = _float(value)
    if x < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return x


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, naming the help to read (instead of argparse's usage
    dump); an unknown option is reported by the subcommand it was given to."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")

    def _print_message(self, message: str, file=None) -> None:  # type: ignore[override]
        """argparse drops a failed write: ``--help`` or ``--version`` into a full disk would
        exit 0 with nothing written. On stdout the error goes on to ``main``, which handles
        it as for any output (a closed pipe stops quietly, a full disk is an error)."""
        if file is not sys.stdout or not message:
            super()._print_message(message, file)
            return
        file.write(message)
        file.flush()

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        ns, extras = self.parse_known_args(args, namespace)
        if extras:
            getattr(ns, "parser", self).error(f"unrecognized arguments: {' '.join(extras)}")
        return ns


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG, formatter_class=_Formatter,
        description="Tag news text with topics (multi-label) and stance, sentence by sentence "
                    "and per article, with TF-IDF + linear models.",
        epilog="examples:\n  classify tag seeds/000_f5626b0ffdcc9b6c.txt\n"
               "  classify train --data labels/ --model models/default\n"
               "  classify evaluate --report report.html\n"
               "  classify audit --report audit.md\n\n"
               "'classify COMMAND --help' explains each command.")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def training_flags(sp: argparse.ArgumentParser, tune: bool = True,
                       folds: bool = False) -> None:
        """The flags of training; ``tune``: with --tune-on and --prevalence, which only move
        the final thresholds (audit ranks on probabilities, so they play no part there);
        ``folds``: the command cross-validates, and --jobs fits its folds in processes."""
        sp.add_argument("--data", action="append", metavar="PATH",
                        help="labelled JSONL/CSV file or directory; repeatable "
                             f"(default: {api.DEFAULT_DATA}/)")
        sp.add_argument("--weight", action="append", metavar="PATH[=W]",
                        help="records of the data file or directory PATH count W times in "
                             "training (fits, thresholds, internal CV); PATH alone: "
                             f"W={api.OWN_LABELS_WEIGHT:g}, the measured default for your own "
                             "labels on top of labels/; repeatable; a record may also carry "
                             "its own 'weight'")
        if tune:
            sp.add_argument("--tune-on", action="append", metavar="PATH",
                            help="records of the data file or directory PATH are of the text the "
                                 "model will tag (your own labels of it): each topic's threshold "
                                 "is re-tuned on their out-of-fold scores and blended with the "
                                 f"threshold of all the data ({TUNE_PRIOR:g} positives' worth); "
                                 "repeatable")
            sp.add_argument("--prevalence", type=float, default=None, metavar="Q",
                            help="the share of texts (0 < Q < 1) each topic is expected to hold "
                                 "for where the model will be used, e.g. 0.05 for a news stream "
                                 "in which most sentences have no topic: the topic thresholds are "
                                 "tuned as if the training data had that share (fewer false "
                                 "alarms where topics are rare); default: as the data are")
        sp.add_argument("--schema", metavar="FILE",
                        help="label schema JSON (default: schema.json inside a --data dir)")
        sp.add_argument("--no-recipe", action="store_true",
                        help="ignore the recipe.json of a --data directory: by default its "
                             "options (labels/: the bundled model's threshold strategy, "
                             "target prevalence and parameters) apply wherever no flag sets "
                             "them, and data files outside its corpus (your own labels) "
                             "count its own_weight times unless --weight names them")
        sp.add_argument("--C", type=_positive_float, default=None,
                        help="fix the regularisation strength instead of choosing it by "
                             "internal cross-validation")
        sp.add_argument("--thresholds", choices=STRATEGIES, default=None,
                        help="fix the topic threshold strategy instead of choosing it by "
                             "internal CV: tuned (per label, with a floor), shrunk (per label, "
                             "rare labels pulled toward one global threshold) or global")
        sp.add_argument("--fast", action="store_true",
                        help="no model search: word 1-2-grams (+ character n-grams where they "
                             "are a candidate), logistic regression C=8; the thresholds and "
                             "their strategy (--thresholds) still chosen by 2-fold CV on at "
                             "most 2,000 records")
        sp.add_argument("--metric", choices=METRICS, default=TrainOptions.metric,
                        help="what the topic model search maximises: mean-f1 is the mean of "
                             "micro-F1 and macro-F1 (rare labels weigh as much as frequent "
                             "ones in its macro half)")
        sp.add_argument("--no-char", action="store_true",
                        help="no character n-gram candidates; by default they are tried for "
                             "short texts (mean <= 500 characters) of at most 20,000 records")
        sp.add_argument("--no-lexicon", action="store_true",
                        help="no sentiment-lexicon features; by default four features from "
                             "VADER's word valences help stance on words the data lacks")
        sp.add_argument("--seed", type=_seed, default=0, help="random seed (folds, solvers)")
        sp.add_argument("--jobs", type=_jobs, default="auto",
                        help=("processes fitting the per-label models (the model is the same "
                              "whatever the number); auto: one per free core, at most 4, "
                              "when records x labels reach 100,000 (smaller data trains "
                              "faster in one), else 1") if not folds else
                        ("processes fitting the cross-validation folds, each fold in one "
                         "(the report is the same whatever the number); auto: one per free "
                         "core, at most 4 and one a fold, when a fold's training part "
                         "reaches 40,000 records x labels (labels/ does), else 1"))
        sp.add_argument("--quiet", action="store_true", help="no progress messages")
        sp.add_argument("--verbose", action="store_true",
                        help="list every detail a warning sums up (e.g. each conflicting "
                             "duplicate text)")

    t = sub.add_parser(
        "train", formatter_class=_Formatter, help="train a model from labelled sentences",
        description="Train the topic and stance models on labelled records and save them "
                    "atomically into a model directory (model-<hash>.npz + meta.json). The "
                    "topic model (feature set, C of its linear SVM, threshold strategy) "
                    "and the stance model (C, class weighting) are chosen by "
                    "grouped internal cross-validation on the data; what was tried is "
                    "printed as a table and kept in meta.json.",
        epilog="examples:\n  classify train\n"
               "  classify train --data mydata.jsonl --model /tmp/m --json\n"
               "  classify train --data big.csv --fast --jobs 2")
    training_flags(t)
    t.add_argument("--model", default=str(api.LOCAL_MODEL), metavar="DIR",
                   help="model directory to write")
    t.add_argument("--params-from", metavar="DIR",
                   help="no model search: reuse the parameters a model's search chose (its "
                        "meta.json); a quick retrain after adding labels")
    t.add_argument("--cv-folds", type=_folds, default=3,
                   help="internal cross-validation folds for choosing C and thresholds")
    t.add_argument("--json", action="store_true", help="print the summary as JSON")
    t.set_defaults(func=cmd_train)

    g = sub.add_parser(
        "tag", formatter_class=_Formatter, help="tag articles or JSONL records",
        description="Tag text. A text file is an article: lines that are not prose are "
                    "dropped (--keep-all keeps them), the rest is split into sentences, each "
                    "sentence gets topics and stance with scores, and the article gets its "
                    "overall topics by the rule stored in the model. A .jsonl file is a batch "
                    "of records ({\"text\": ..., \"id\": ...}), each tagged whole: with "
                    "--format jsonl the output has one line per record, in input order, with "
                    "id, topics, topic_scores, stance, stance_scores. An .html/.htm file (or "
                    "HTML on stdin) is reduced to its article's title and main text first "
                    "(needs pip install 'classify[html]'). '-' reads stdin.",
        epilog="examples:\n  classify tag seeds/000_f5626b0ffdcc9b6c.txt\n"
               "  classify tag articles/ --format csv > tags.csv\n"
               "  classify tag seeds/000_f5626b0ffdcc9b6c.txt --format html > page.html\n"
               "  classify tag records.jsonl --format jsonl --jobs 2 > tags.jsonl\n"
               "  classify tag feed.jsonl --format jsonl --threshold immigration=0.55\n"
               "  classify tag archive/*.jsonl --format jsonl --scheduler tcp://HOST:8786 "
               "--output-dir tagged/\n"
               "  classify tag page.html --format jsonl\n"
               "  echo 'Customs seized heroin at Heathrow.' | classify tag - --format json")
    g.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="text file, directory of them, .jsonl batch, or - for stdin")
    g.add_argument("--model", metavar="DIR", default=None,
                   help="model directory (default: $CLASSIFY_MODEL, ./models/default, or the "
                        "bundled model)")
    g.add_argument("--format", choices=FORMATS, default="text",
                   help="output format; html: one self-contained page (no network requests) "
                        "with every sentence highlighted by its topics and, on hover or "
                        "click, its scores and the words that pushed each label; several "
                        "inputs or a batch give one page with an index")
    g.add_argument("--explain", action="store_true",
                   help="add `why`: the 3 words that pushed each chosen label most, as the html "
                        "page shades them (always on in text format)")
    g.add_argument("--input-format", choices=("auto", "text", "jsonl"), default="auto",
                   help="how to read inputs: by extension (.jsonl = batch, .html/.htm = web "
                        "page) / sniffing stdin")
    g.add_argument("--keep-all", action="store_true",
                   help="tag every line of a text input; by default lines that are not prose "
                        "(navigation words, lone symbols, dates, app banners, repeats of an "
                        "earlier line) are dropped first")
    g.add_argument("--skip-invalid", action="store_true",
                   help="in a JSONL batch, report invalid lines (as a line with 'error') and "
                        "tag the rest instead of stopping")
    g.add_argument("--jobs", type=_jobs, default="auto",
                   help="processes tagging a JSONL batch (the output is the same whatever "
                        "the number); auto: one per free core, at most 4, for a batch file of "
                        "2 MB or more, else 1")
    g.add_argument("--trust", action="store_true",
                   help="load a model directory without meta.json (unverified), or an old "
                        "pickle model of classify 0.1-0.2 (it can run code)")
    g.add_argument("--threshold", type=_threshold, action="append", metavar="TOPIC=SCORE",
                   help="tag TOPIC only when its score reaches SCORE (0-1) instead of the "
                        "model's own threshold (meta.json 'thresholds'); repeat for other "
                        "topics. Raise it for a topic that is rare in what you tag, where its "
                        "false alarms outnumber its hits; choose it with 'classify evaluate "
                        "--model --test --threshold'. (A model trained to tag at least one "
                        "topic per text keeps each text's top topic.)")
    d = g.add_argument_group(
        "on a Dask cluster", "JSONL batches only (needs pip install 'classify[dask]'); the "
        "workers must see the input files and the model directory under the same paths")
    d.add_argument("--scheduler", metavar="ADDRESS",
                   help="tag on the Dask cluster of this scheduler (tcp://HOST:8786): each "
                        "input is cut into partitions that the workers tag")
    d.add_argument("--output-dir", metavar="DIR",
                   help="with --scheduler: write each partition to DIR/part-NNNNN.jsonl and "
                        "record it in DIR/manifest.json instead of writing stdout; rerunning "
                        "the command resumes (finished partitions are skipped)")
    d.add_argument("--partition-size", type=_size, metavar="SIZE",
                   default=_DefaultSize(DEFAULT_PARTITION_BYTES),
                   help="with --scheduler: input bytes per partition, cut at line ends; K, M, "
                        "G suffixes (powers of 1024)")
    g.set_defaults(func=cmd_tag)

    e = sub.add_parser(
        "evaluate", formatter_class=_Formatter, help="cross-validate, or score a model",
        description="Without --model: k-fold cross-validation of the whole training "
                    "procedure, keeping each source in one fold and stratifying the labels; "
                    "thresholds and C are tuned inside each training fold only. With --model "
                    "and --test: score a trained model on held-out labelled data. Prints per-"
                    "label precision/recall/F1, micro/macro F1, each F1 with a 95% bootstrap "
                    "interval over sources (1,000 resamples of the articles, seeded by "
                    "--seed), the stance confusion matrix, reliability curves of the scores "
                    "and the worst errors.",
        epilog="examples:\n  classify evaluate --report report.html\n"
               "  classify evaluate --data labels/ --folds 10 --json\n"
               "  classify evaluate --learning-curve --report report.html\n"
               "  classify evaluate --model models/default --test dev.jsonl --report dev.md\n"
               "  classify evaluate --model models/default --test mine.jsonl "
               "--threshold immigration=0.55")
    training_flags(e, folds=True)
    e.add_argument("--folds", type=_folds, default=FOLDS, help="cross-validation folds")
    e.add_argument("--learning-curve", action="store_true",
                   help="also cross-validate with the training folds cut to 10%%, 25%%, 50%% "
                        "and 75%% of their sources (4 more trainings per fold): does "
                        "labelling more pay?")
    e.add_argument("--report", type=_path, metavar="FILE",
                   help="write a report: .html (self-contained page; with matplotlib, pip "
                        "install 'classify[report]', it draws the learning curve, the stance "
                        "confusion matrix and the reliability curves), .json, .txt, anything "
                        "else Markdown")
    e.add_argument("--json", action="store_true", help="print the numbers as JSON")
    e.add_argument("--model", metavar="DIR", help="trained model to score (needs --test)")
    e.add_argument("--test", action="append", metavar="PATH",
                   help="held-out labelled data for --model; repeatable")
    e.add_argument("--threshold", type=_threshold, action="append", metavar="TOPIC=SCORE",
                   help="with --model and --test: score the model with TOPIC's bar at SCORE "
                        "(as 'classify tag --threshold' would tag); repeatable")
    e.add_argument("--trust", action="store_true",
                   help="load a model directory without meta.json (unverified), or an old "
                        "pickle model of classify 0.1-0.2 (it can run code)")
    e.set_defaults(func=cmd_evaluate)

    a = sub.add_parser(
        "audit", formatter_class=_Formatter, help="find likely labelling mistakes",
        description="Rank the labelled lines most likely to carry a wrong topic or stance, by "
                    "out-of-fold predictions of grouped cross-validation (each fold trains a "
                    "full model on the others; scores calibrated per label), plus texts that "
                    "occur twice with different labels, near-duplicates across files or "
                    "sources, and labels with too few examples. Each finding names file:line, "
                    "the current and suggested labels, a confidence (the probability that the "
                    "current label is wrong) and the guide's definition of the labels in "
                    "question (LABELLING.md beside the data or ../shared/LABELLING.md, else "
                    "schema.json). Prints Markdown unless --format or --report says otherwise.",
        epilog="examples:\n  classify audit --fast\n"
               "  classify audit --data labels/ --report audit.html\n"
               "  classify audit --format jsonl > findings.jsonl")
    training_flags(a, tune=False, folds=True)
    a.add_argument("--folds", type=_folds, default=FOLDS, help="cross-validation folds")
    a.add_argument("--format", choices=("md", "jsonl", "html"), default=None,
                   help="output format (default: md, or from the --report file's extension)")
    a.add_argument("--report", type=_path, metavar="FILE",
                   help="write the findings to FILE (.html, .jsonl, anything else Markdown) "
                        "instead of stdout")
    a.add_argument("--guide", metavar="FILE",
                   help="the labelling guide whose definitions to quote (default: "
                        "LABELLING.md beside the data, or ../shared/LABELLING.md)")
    a.set_defaults(func=cmd_audit)

    s = sub.add_parser(
        "suggest", formatter_class=_Formatter, help="what to label next, best first",
        description="Rank the unlabelled items of a pool by how much a label would teach the "
                    "model: topic scores near the label's stored threshold and stance near "
                    "its decision boundary, diversified so that the suggestions are not "
                    "near-copies of each other. Texts already labelled are left out: those "
                    "of the training data files the model's meta.json names, and --exclude. "
                    "Output (jsonl): one line per item, best first, with id, text, source, "
                    "the model's guess (topics, topic_scores, stance, stance_scores), reason "
                    "(the label it is least sure of) and uncertainty (1: on the boundary).",
        epilog="examples:\n  classify suggest --pool articles/ -n 50 > suggestions.jsonl\n"
               "  classify suggest --pool batch.jsonl --exclude labels/mine.jsonl "
               "--format text")
    s.add_argument("--pool", required=True, metavar="PATH",
                   help="JSONL (or CSV) batch, an article (text file, split into sentences "
                        "as 'tag' does), or a directory of them; '-' reads a JSONL batch or "
                        "an article from standard input")
    s.add_argument("--model", metavar="DIR", default=None,
                   help="model directory (default: $CLASSIFY_MODEL, ./models/default, or the "
                        "bundled model)")
    s.add_argument("-n", type=_positive, default=50, help="how many suggestions")
    s.add_argument("--format", choices=("jsonl", "text"), default="jsonl",
                   help="output format")
    s.add_argument("--exclude", action="append", metavar="DIR_OR_FILE",
                   help="labelled data (JSONL/CSV, or a directory) whose texts are left out, "
                        "besides the model's training data; repeatable")
    s.add_argument("--diversity", type=_nonnegative_float, default=None,
                   help="weight of the penalty on similarity to items already suggested "
                        "(0: pure uncertainty order; default 0.5)")
    s.add_argument("--focus", choices=("all", "topics", "stance"), default="all",
                   help="which labels' uncertainty counts")
    s.add_argument("--trust", action="store_true",
                   help="load a model directory without meta.json (unverified)")
    s.add_argument("--quiet", action="store_true", help="no summary line on stderr")
    s.set_defaults(func=cmd_suggest)

    lab = sub.add_parser(
        "label", formatter_class=_Formatter, help="label texts in the terminal, fast",
        description="A terminal labeller over a suggestions file (classify suggest) or any "
                    "JSONL of texts: it shows each sentence with the model's guess "
                    "pre-selected. Keys: digits toggle topics (t, then numbers and Enter, "
                    "beyond ten), a stance's letter picks it, Enter accepts, Space skips, "
                    "Backspace or u undoes, ? shows the guide's one-line definitions, q "
                    "quits. Each answer is validated like training data and appended to "
                    "--out at once (Ctrl-C or a closed terminal loses nothing); skips go to "
                    "OUT.skipped; a rerun resumes where it stopped. --out is training data: "
                    "'classify train --data labels --data OUT --weight OUT'.",
        epilog="example:\n  classify suggest --pool articles/ > todo.jsonl\n"
               "  classify label todo.jsonl --out labels/mine.jsonl")
    lab.add_argument("file", metavar="FILE", help="JSONL of items with 'text' (and optional "
                     "'id', 'source', guessed 'topics' and 'stance')")
    lab.add_argument("--out", required=True, type=_path, metavar="FILE",
                     help="JSONL file the answers are appended to")
    lab.add_argument("--model", metavar="DIR", default=None,
                     help="model whose labels are offered and which guesses for items "
                          "without a guess (default: as for tag)")
    lab.add_argument("--guide", metavar="SCHEMA",
                     help="schema.json with one-line definitions of the labels (default: "
                          "the one beside the model's training data)")
    lab.add_argument("--trust", action="store_true",
                     help="load a model directory without meta.json (unverified)")
    lab.set_defaults(func=cmd_label)

    x = sub.add_parser(
        "export", formatter_class=_Formatter, help="tasks for Label Studio, doccano, Prodigy",
        description="Write a labelling tool's import file for a suggestions file (or any "
                    "JSONL of texts), with the model's guess as a pre-annotation: Label "
                    "Studio tasks (JSON, predictions; the labelling config goes beside it, "
                    "OUT with .xml, or --config), doccano text classification JSONL (the "
                    "stance as label 'stance:NAME'), Prodigy 'choice' tasks (JSONL, use "
                    "choice_style multiple). Our id and source travel with each task.",
        epilog="examples:\n  classify export todo.jsonl --to label-studio --out tasks.json\n"
               "  classify suggest --pool articles/ | classify export - --to prodigy "
               "> tasks.jsonl")
    x.add_argument("file", metavar="FILE",
                   help="JSONL of items with 'text' ('-': standard input)")
    x.add_argument("--to", required=True, choices=("label-studio", "doccano", "prodigy"))
    x.add_argument("--out", type=_path, metavar="FILE",
                   help="write here instead of standard output")
    x.add_argument("--config", type=_path, metavar="FILE",
                   help="Label Studio labelling config file (default: OUT with .xml, or "
                        "label_config.xml)")
    x.add_argument("--model", metavar="DIR", default=None,
                   help="model whose labels and guesses are used (default: as for tag)")
    x.add_argument("--guide", metavar="SCHEMA",
                   help="schema.json with one-line definitions (Label Studio hints)")
    x.add_argument("--trust", action="store_true",
                   help="load a model directory without meta.json (unverified)")
    x.set_defaults(func=cmd_export)

    m = sub.add_parser(
        "import", formatter_class=_Formatter, help="labels back from Label Studio, ...",
        description="Read a labelling tool's export back into training records (text, "
                    "topics, stance, source, id), each validated against the model's labels: "
                    "Label Studio JSON or JSON-MIN export, doccano JSONL/JSON export, "
                    "'prodigy db-out' JSONL (accepted answers). Items nobody annotated are "
                    "left out and counted. --out is written whole (atomically), so a later "
                    "export of the same project replaces it; an export with no annotated "
                    "item is refused and --out left as it was.",
        epilog="example:\n  classify import project.json --from label-studio "
               "--out labels/team.jsonl")
    m.add_argument("file", metavar="FILE", help="the tool's export file")
    m.add_argument("--from", dest="from_", required=True,
                   choices=("label-studio", "doccano", "prodigy"))
    m.add_argument("--out", required=True, type=_path, metavar="FILE",
                   help="training JSONL to write")
    m.add_argument("--model", metavar="DIR", default=None,
                   help="model whose labels the records are checked against")
    m.add_argument("--trust", action="store_true",
                   help="load a model directory without meta.json (unverified)")
    m.set_defaults(func=cmd_import)

    c = sub.add_parser(
        "convert", formatter_class=_Formatter,
        help="re-save an old (pickle) model directory as data (.npz + meta.json)",
        description="Load a model directory saved by classify 0.1-0.2 (a pickle: loading it "
                    "can run code, so --trust is required) and save it in today's format, "
                    "which loads without unpickling anything.",
        epilog="example:\n  classify convert old_model --trust --output new_model")
    c.add_argument("model", metavar="DIR", help="the old model directory")
    c.add_argument("--output", metavar="DIR",
                   help="where to save (default: replace the model in DIR)")
    c.add_argument("--trust", action="store_true",
                   help="confirm that DIR comes from a source you trust")
    c.set_defaults(func=cmd_convert)
    for sp in sub.choices.values():
        sp.set_defaults(parser=sp)  # whose usage errors an unknown option gets
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    _err(f"warning: {' '.join(str(message).split())}")


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    warnings.showwarning = _show_warning
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):  # a usage error: exit 2 however the help fared
            try:
                parser.print_help()
                sys.stdout.flush()
            except BrokenPipeError:
                _silence_stdout()
            except OSError as e:
                _silence_stdout()
                _err(f"error: output: {e.strerror or e}")
            return 2
        jobs = getattr(args, "jobs", None)
        if isinstance(jobs, int) and jobs > 1 and getattr(args, "scheduler", None) is None:
            cores = api.usable_cores()
            if jobs > cores:  # more processes than cores only cost memory and start-up
                _err(f"warning: --jobs {jobs} is more than the {cores} core(s) this process "
                     f"may use; using {cores}")
                args.jobs = cores
        return args.func(args)
    except ClassifyError as e:
        _err(f"error: {e}")
        return e.exit_code
    except KeyboardInterrupt:  # called in-process; the command itself ends in interrupts
        _err("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. '| head -1'): stop quietly.
        _silence_stdout()
        return 0
    except OSError as e:  # e.g. stdout on a full disk
        _silence_stdout()
        _err(f"error: {getattr(e, 'filename', None) or 'output'}: {e.strerror or e}")
        return 1
    except MemoryError:
        _err("error: out of memory")
        return 1
    except Exception as e:  # a bug of ours: one line, unless debugging
        if os.environ.get("CLASSIFY_DEBUG"):
            raise
        _err(f"internal error: {type(e).__name__}: {' '.join(str(e).split())[:200]} "
             "(set CLASSIFY_DEBUG=1 for the traceback, and please report it)")
        return 70


class _ClosedOutput(io.TextIOBase):
    """Standard output when the shell closed it (``>&-``): a command that writes nothing
    there still works; one that writes gets a one-line error, as ``echo`` does."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def fileno(self) -> int:
        return 1


def _closed_streams() -> None:
    """Give closed standard streams something to be: file descriptors 0-2 are pointed at
    /dev/null (else the next file opened would take the number, and output meant for the
    terminal would land in it); a closed stderr drops the messages instead of sending them
    to stdout (where ``print(file=None)`` goes); a closed stdout is ``_ClosedOutput``."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)  # the lowest free number: this one
    if sys.stderr is None:
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    if sys.stdout is None:
        sys.stdout = _ClosedOutput()


def run() -> None:
    """The console entry point: ``main``, then a fast exit.

    Once the output is flushed, nothing is left to clean up (files are closed by then), so
    the interpreter's teardown, about 0.1 s with numpy and scipy loaded, is skipped, unless
    joblib's worker pool was started: its exit handlers must run.
    """
    _closed_streams()
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away: as in main, stop quietly
        _silence_stdout()
    except OSError as e:  # e.g. a full disk under the last buffered output
        _silence_stdout()
        _err(f"error: output: {e.strerror or e}")
        code = code or 1
    with contextlib.suppress(OSError):
        sys.stderr.flush()
    if _worker_pool_started():
        sys.exit(code)  # joblib's exit handlers stop the pool and remove its temporary files
    os._exit(code)


def _worker_pool_started() -> bool:
    """Whether joblib started its reusable process pool (``train --jobs N``). Its workers
    outlive a fast ``os._exit`` by their idle timeout (minutes), holding the command's stdout
    and stderr open, so a pipe reading the command would wait for them; joblib's own exit
    handlers stop them at once."""
    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    return getattr(loky, "_executor", None) is not None

