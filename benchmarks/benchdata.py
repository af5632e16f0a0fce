"""Benchmark data: reading the shared sets at run time, seeded splits, synthetic scale-ups.

Nothing here copies shared text into the repository: every derived file is written under a
temporary directory chosen by the caller.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

Record = dict


def read_jsonl(path: str | Path) -> list[Record]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(path: str | Path, records: Iterable[Record]) -> Path:
    path = Path(path)
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def read_labels_dir(directory: str | Path) -> list[Record]:
    """All records of a ``labels/``-style directory (sorted *.jsonl), exact duplicates dropped.

    The first occurrence of a (whitespace-normalised) text wins, as in ``classify``'s loader.
    """
    seen: set[str] = set()
    out = []
    for f in sorted(Path(directory).rglob("*.jsonl")):
        for r in read_jsonl(f):
            key = " ".join(str(r.get("text", "")).split())
            if not key or key in seen:
                continue
            seen.add(key)
            out.append(r)
    return out


def source_of(r: Record, i: int) -> str:
    src = r.get("source")
    return str(src) if src not in (None, "") else f"#{i}"


def grouped_split(records: Sequence[Record], test_share: float, seed: int
                  ) -> tuple[list[Record], list[Record]]:
    """Seeded train/test split that keeps every ``source`` on one side."""
    groups = sorted({source_of(r, i) for i, r in enumerate(records)})
    order = np.random.default_rng(seed).permutation(len(groups))
    n_test = max(1, round(test_share * len(groups)))
    test_groups = {groups[j] for j in order[:n_test]}
    train, test = [], []
    for i, r in enumerate(records):
        (test if source_of(r, i) in test_groups else train).append(r)
    return train, test


def grouped_sample(records: Sequence[Record], limit: int, seed: int) -> list[Record]:
    """At most about ``limit`` records, whole sources at a time, in original order."""
    if len(records) <= limit:
        return list(records)
    groups = sorted({source_of(r, i) for i, r in enumerate(records)})
    order = np.random.default_rng(seed).permutation(len(groups))
    sizes: dict[str, int] = {}
    for i, r in enumerate(records):
        sizes[source_of(r, i)] = sizes.get(source_of(r, i), 0) + 1
    keep: set[str] = set()
    total = 0
    for j in order:
        if total >= limit:
            break
        keep.add(groups[j])
        total += sizes[groups[j]]
    return [r for i, r in enumerate(records) if source_of(r, i) in keep]


def replicate_texts(records: Sequence[Record], n: int) -> list[Record]:
    """``n`` unlabelled records cycling through ``records`` (same texts), ids 0..n-1."""
    return [{"id": str(i), "text": records[i % len(records)]["text"]} for i in range(n)]


def scaled_training_set(pools: Sequence[Sequence[Record]], n: int) -> list[Record]:
    """``n`` distinct labelled records cycling through the concatenated ``pools``.

    Copy k >= 1 of a text gets the suffix `` (v{k})`` so that every text is distinct (classify
    drops exact duplicates); all copies of one original keep one ``source`` so grouped
    cross-validation never puts two copies of a text on both sides of a fold.
    """
    base = [(p, r) for p, pool in enumerate(pools) for r in pool]
    out = []
    for i in range(n):
        p, r = base[i % len(base)]
        k = i // len(base)
        out.append({"id": str(i), "text": r["text"] + (f" (v{k})" if k else ""),
                    "topics": list(r["topics"]), "source": f"{p}:{r.get('source', i)}"})
    return out


def for_tagging(records: Sequence[Record]) -> list[Record]:
    """Only ``id`` and ``text`` (no gold labels in files handed to the taggers)."""
    return [{"id": str(i), "text": r["text"]} for i, r in enumerate(records)]
