"""Round trips to labelling tools: Label Studio, doccano and Prodigy.

Export (``export_tasks``) writes each tool's import format with the model's guess as a
pre-annotation; import (``import_records``) reads the tool's export format back into training
records (``text``, ``topics``, ``stance``, ``source``, ``id``), validated like training data.
Our ``id`` and ``source`` travel in fields the tools keep (``item_id``, ``source``), so they
come back unchanged.

- **Label Studio**: tasks as a JSON list, ``{"data": {"text", "item_id", "source"},
  "predictions": [{"model_version", "score", "result": [...]}]}``, with one ``choices``
  result per control: ``topics`` (``choice="multiple"``) and ``stance``
  (``choice="single-radio"``), and the labelling config (``label_config``) that defines
  those controls. Import reads the JSON export (tasks with ``annotations``: the last one
  not cancelled counts; a task without one is left out) or the JSON-MIN export (flat
  records: a single choice as a string, several as ``{"choices": [...]}``). A file in
  which no item has ``data`` (the JSON export) or a ``topics`` or ``stance`` choice
  (JSON-MIN) is not a Label Studio export: an error, not so many items nobody annotated.
- **doccano** (text classification project): JSONL ``{"text", "label": [...], "item_id",
  "source"}``; topics are label names, the stance is ``stance:NAME``, and the guess is the
  pre-annotation doccano shows. Import reads its JSONL (or JSON) export, whose extra
  fields come back at the top level beside doccano's own ``id``; an item with no label at
  all was not annotated and is left out, and so is a line without ``id``: a task as
  ``classify export`` wrote it, whose labels are the model's guess, not an annotation.
- **Prodigy** (``choice`` interface with ``choice_style: multiple``): JSONL ``{"text",
  "options": [{"id", "text"}], "accept": [...], "meta": {...}}``; option ids as for doccano.
  Import reads ``prodigy db-out`` JSONL: answers ``accept`` count, ``reject`` and
  ``ignore`` are left out, any other answer is an error.

An annotation that cannot be read (an entry of ``annotations`` that is not an object, say) is
an error naming its place, never counted as an item nobody annotated.

A stance is one class: an item with two stance choices is an error naming its place.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

from .data import (
    Schema,
    item_id,
    json_kind,
    json_line,
    open_lines,
    parse_json,
    parse_record,
)
from .errors import DataError

TOOLS = ("label-studio", "doccano", "prodigy")
STANCE_PREFIX = "stance:"
TOPIC_PREFIX = "topic:"  # accepted on import, never written
PRODIGY_ANSWERS = ("accept", "reject", "ignore")


@dataclass
class Guess:
    """An item to export: its text, where it came from, and the model's guess."""

    id: str
    text: str
    source: str
    topics: list[str]
    stance: str | None
    score: float | None = None  # the suggestion's uncertainty, if any


@dataclass
class Exported:
    tool: str
    text: str  # the tasks file's content
    items: int
    label_config: str | None = None  # Label Studio's labelling config (XML)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Imported:
    tool: str
    records: list[dict]
    left_out: list[str] = field(default_factory=list)  # places of unannotated items

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- export


def _option_ids(topics: Sequence[str], stances: Sequence[str]) -> list[str]:
    bad = [t for t in topics if t.startswith((STANCE_PREFIX, TOPIC_PREFIX))]
    if bad:
        raise DataError(f"topic {bad[0]!r}: a name starting with {STANCE_PREFIX!r} or "
                        f"{TOPIC_PREFIX!r} cannot travel to doccano or Prodigy")
    return list(topics) + [STANCE_PREFIX + s for s in stances]


def label_studio_config(topics: Sequence[str], stances: Sequence[str],
                        descriptions: dict[str, str]) -> str:
    """The labelling config: the text, topics as multiple choice, stance as one choice."""
    def choice(label: str) -> str:
        hint = descriptions.get(label)
        return (f"    <Choice value={quoteattr(label)}"
                + (f" hint={quoteattr(hint)}" if hint else "") + "/>")

    lines = ['<View>', '  <Text name="text" value="$text"/>',
             '  <Header value="Topics (any number, none for no topic)"/>',
             '  <Choices name="topics" toName="text" choice="multiple" showInLine="true">',
             *map(choice, topics), '  </Choices>']
    if stances:
        lines += ['  <Header value="Stance (one)"/>',
                  '  <Choices name="stance" toName="text" choice="single-radio" '
                  'required="true" showInLine="true">', *map(choice, stances), '  </Choices>']
    lines.append('</View>')
    return "\n".join(lines) + "\n"


def _ls_result(name: str, choices: list[str]) -> dict:
    return {"from_name": name, "to_name": "text", "type": "choices",
            "value": {"choices": choices}}


def export_tasks(items: Sequence[Guess], tool: str, topics: Sequence[str],
                 stances: Sequence[str], descriptions: dict[str, str],
                 model_version: str) -> Exported:
    """The tool's import file for ``items`` with each guess as a pre-annotation."""
    if tool == "label-studio":
        tasks = []
        for it in items:
            result = ([_ls_result("topics", list(it.topics))] if it.topics else []) + (
                [_ls_result("stance", [it.stance])] if it.stance else [])
            pred: dict = {"model_version": model_version, "result": result}
            if it.score is not None:
                pred["score"] = it.score
            tasks.append({"data": {"text": it.text, "item_id": it.id, "source": it.source},
                          "predictions": [pred]})
        return Exported(tool, json.dumps(tasks, indent=1, ensure_ascii=False) + "\n",
                        len(items), label_studio_config(topics, stances, descriptions))
    options = _option_ids(topics, stances)
    lines = []
    for it in items:
        guess = list(it.topics) + ([STANCE_PREFIX + it.stance] if it.stance else [])
        if tool == "doccano":
            rec: dict = {"text": it.text, "label": guess, "item_id": it.id,
                         "source": it.source}
        elif tool == "prodigy":
            rec = {"text": it.text,
                   "options": [{"id": o, "text": o.replace(STANCE_PREFIX, "stance: ")}
                               for o in options],
                   "accept": guess, "item_id": it.id, "source": it.source,
                   "meta": {"source": it.source, "id": it.id}}
        else:
            raise DataError(f"unknown tool {tool!r}; one of {', '.join(TOOLS)}")
        lines.append(json.dumps(rec, ensure_ascii=False))
    return Exported(tool, "".join(x + "\n" for x in lines), len(items))


# ---------------------------------------------------------------- import


def _read(path: Path) -> Iterator[tuple[str, object]]:
    """(place, object) of a JSON list, a single JSON object, or JSONL."""
    with open_lines(path) as lines:
        text = "".join(lines)
    body = text.strip()
    if body.startswith("["):
        data = parse_json(body, str(path))
        for i, obj in enumerate(data, 1):
            yield f"{path}: item {i}", obj
        return
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip():
            yield f"{path}:{lineno}", json_line(line, f"{path}:{lineno}")


def _split(labels: object, where: str) -> tuple[list[str], list[str]]:
    """(topics, stances) from option ids / doccano labels."""
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise DataError(f"{where}: labels must be a list of names, got {labels!r:.60}")
    topics = [x.removeprefix(TOPIC_PREFIX) for x in labels if not x.startswith(STANCE_PREFIX)]
    stances = [x.removeprefix(STANCE_PREFIX) for x in labels if x.startswith(STANCE_PREFIX)]
    return topics, stances


def _choices(value: object, where: str) -> list[str]:
    """A Label Studio choice value: ``{"choices": [...]}``, or JSON-MIN's bare string."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = value.get("choices")
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return list(value)
    raise DataError(f"{where}: choices must be a list of names, got {value!r:.60}")


def _label_studio(where: str, obj: object) -> tuple[dict, list[str], list[str]] | None:
    if not isinstance(obj, dict):
        raise DataError(f"{where}: a task must be a JSON object")
    if "data" in obj:  # the JSON export
        data = obj["data"]
        if not isinstance(data, dict):
            raise DataError(f"{where}: 'data' must be an object")
        annotations = obj.get("annotations")
        if annotations is not None and not isinstance(annotations, list):
            raise DataError(f"{where}: 'annotations' must be a list, got {annotations!r:.60}")
        odd = [a for a in annotations or [] if not isinstance(a, dict)]
        if odd:  # left out, the task would read as nobody's work
            raise DataError(f"{where}: each item of 'annotations' must be an object, got "
                            f"{json_kind(odd[0])}")
        done = [a for a in annotations or [] if not a.get("was_cancelled")]
        if not done:
            return None
        topics: list[str] = []
        stances: list[str] = []
        result = done[-1].get("result")
        if result is not None and not isinstance(result, list):
            raise DataError(f"{where}: an annotation's 'result' must be a list, got "
                            f"{result!r:.60}")
        for r in result or []:
            if not isinstance(r, dict):
                raise DataError(f"{where}: each item of an annotation's 'result' must be an "
                                f"object, got {r!r:.60}")
            if str(r.get("type", "choices")).lower() != "choices":
                if r.get("from_name") in ("topics", "stance"):  # dropped, it would read as
                    # "no topic" and teach the model wrong labels
                    raise DataError(f"{where}: {r.get('from_name')!r} given as "
                                    f"{r.get('type')!r}, not as choices; the labelling config "
                                    "that 'classify export' writes makes them Choices")
                continue  # another control (a comment box, say): nothing of ours
            if r.get("from_name") == "topics":
                topics += _choices(r.get("value"), where)
            elif r.get("from_name") == "stance":
                stances += _choices(r.get("value"), where)
            else:  # read as "no topic", it would teach the model wrong labels
                raise DataError(f"{where}: choices from {r.get('from_name')!r}; the labelling "
                                "config that 'classify export' writes names them 'topics' "
                                "and 'stance'")
        return data, topics, stances
    if "topics" not in obj and "stance" not in obj:  # JSON-MIN of a task nobody annotated
        return None
    t, s = obj.get("topics"), obj.get("stance")
    return (obj, [] if t is None else _choices(t, where),
            [] if s is None else _choices(s, where))


def import_records(path: str | Path, tool: str, schema: Schema) -> Imported:
    """Training records from the tool's export file, each validated against ``schema``."""
    if tool not in TOOLS:
        raise DataError(f"unknown tool {tool!r}; one of {', '.join(TOOLS)}")
    path = Path(path)
    out = Imported(tool, [])
    foreign = 0  # Label Studio items with neither 'data' nor a choice of ours, nor its 'id'
    no_id = 0  # doccano lines without doccano's 'id': tasks as classify export wrote them
    for where, obj in _read(path):
        if tool == "label-studio":
            got = _label_studio(where, obj)
            if got is None:
                # an unannotated JSON-MIN item still has Label Studio's id; another tool's
                # item has no id, or the fields of its own format
                foreign += not isinstance(obj, dict) or ("data" not in obj and (
                    "id" not in obj or not {"label", "accept", "answer"}.isdisjoint(obj)))
                out.left_out.append(where)
                continue
            data, topics, stances = got
        else:
            if not isinstance(obj, dict):
                raise DataError(f"{where}: record must be a JSON object")
            if tool == "prodigy":
                if "answer" not in obj:  # a task as exported: its guesses are no answer
                    out.left_out.append(where)
                    continue
                answer = obj["answer"]
                if answer not in PRODIGY_ANSWERS:  # left out, the labels would be lost
                    got = f"{answer!r:.60}" if isinstance(answer, str) else json_kind(answer)
                    raise DataError(f"{where}: 'answer' must be one of "
                                    f"{', '.join(PRODIGY_ANSWERS)}, got {got}")
                if answer != "accept":
                    out.left_out.append(where)
                    continue
                topics, stances = _split(obj.get("accept", []), where)
            else:
                if "id" not in obj:  # doccano's export gives each item its id; our tasks
                    out.left_out.append(where)  # have none, their labels are our guess
                    no_id += 1
                    continue
                topics, stances = _split(obj.get("label", []), where)
                if not topics and not stances:  # doccano exports unannotated items too
                    out.left_out.append(where)
                    continue
            data = obj
        if len(stances) > 1:
            raise DataError(f"{where}: {len(stances)} stances ({', '.join(stances)}); a "
                            "stance is one class")
        meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
        rid = item_id(data, where, "item_id") if "item_id" in data else item_id(meta, where)
        source = item_id(data, where, "source") if "source" in data else \
            item_id(meta, where, "source")
        rec: dict = {"text": data.get("text"), "topics": list(dict.fromkeys(topics))}
        if stances:
            rec["stance"] = stances[0]
        rec["source"] = source if source is not None else str(path)
        if rid is not None:
            rec["id"] = rid
        parse_record(rec, where, schema, need_labels=True)
        out.records.append(rec)
    if no_id and no_id == len(out.left_out) and not out.records:
        raise DataError(f"{path}: no line has doccano's 'id': these are tasks as classify "
                        "export writes them (the model's guesses), not a doccano export; "
                        "label them in doccano and export the project")
    if foreign and foreign == len(out.left_out) and not out.records:
        raise DataError(f"{path}: does not look like a Label Studio export: no item has "
                        "'data' (the JSON export) or a 'topics' or 'stance' choice "
                        "(JSON-MIN); export the project from Label Studio as JSON")
    return out
