"""Annotated pages: tagged articles and record batches as one self-contained HTML page.

The page makes no network request: styles, script and data are inline, fonts are the
reader's own, and a Content-Security-Policy forbids anything else. At the top: the legend
(a colour per topic, a marker per stance class, the word shading), then per article its
topics, stance and the rule that decided them; every sentence is highlighted by its topics
(one band of colour per topic) behind its stance marker. Hovering, focusing or clicking a
sentence (a click pins it; ``page.html#d1s5`` opens sentence 5 of the first document) shows
its scores in the side panel and, for its topics, the nearest other topics and its likeliest
stance classes, the sentence with each word shaded by how much it pushed the label
(``contributions``: green toward, red away, as eli5 shows linear models). Several articles or
batches give one page with an index.

Scores come from the tagging results (``Model.scores``); only the words' shares of them are
computed here.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import dataclass, field

from . import __version__
from .contributions import contributions_of
from .tagging import ArticleTags, Tagger, Tags

EXPLAINED_TOPICS = 3  # a unit's panel explains its topics, else the highest scores, up to this
EXPLAINED_STANCES = 3  # ... and its most probable stance classes
PANEL_TOPICS = 8  # topics listed with their scores in the panel (the highest)

# Okabe & Ito's colour-blind-safe palette; further labels get evenly spaced hues.
PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
           "#999999"]
STANCE_MARKS = [  # (names, marker, colour); matched case-insensitively
    ({"supportive", "favor", "favour", "positive", "pro", "support", "for"}, "▲", "#1a9641"),
    ({"critical", "against", "negative", "con", "oppose", "opposed"}, "▼", "#d7191c"),
    ({"neutral", "none", "neither", "objective"}, "●", "#7a7a7a"),
]
OTHER_MARKS = [("◆", "#7b3294"), ("■", "#0571b0"), ("★", "#e66101"), ("⬟", "#4d4d4d")]


def topic_colours(labels: list[str]) -> dict[str, str]:
    n = len(labels)
    if n <= len(PALETTE):
        return dict(zip(labels, PALETTE, strict=False))
    return {lab: f"hsl({round(360 * i / n)},70%,55%)" for i, lab in enumerate(labels)}


def stance_marks(labels: list[str]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    used: set[str] = set()
    others = iter(OTHER_MARKS * (1 + len(labels)))
    for lab in labels:
        mark = next(((m, c) for names, m, c in STANCE_MARKS
                     if lab.lower() in names and m not in used), None)
        if mark is None:
            mark = next(others)
        used.add(mark[0])
        out[lab] = mark
    return out


@dataclass
class _Doc:
    name: str
    article: ArticleTags | None = None
    text: str | None = None
    records: list[tuple[int, Tags]] = field(default_factory=list)


class Page:
    """Collects tagged articles and batch records, then renders them as one page."""

    def __init__(self, tagger: Tagger) -> None:
        self.tagger = tagger
        self.docs: list[_Doc] = []
        self.colours = topic_colours(tagger.topic_labels)
        self.marks = stance_marks(tagger.stance_labels)

    def add_article(self, article: ArticleTags, text: str | None = None) -> None:
        """An article; with its ``text``, line breaks between sentences are kept."""
        self.docs.append(_Doc(article.name, article=article, text=text))

    def add_record(self, batch: str, index: int, tags: Tags) -> None:
        """Record ``index`` (from 1) of the batch ``batch``: consecutive records of one batch
        form one section of the page."""
        if not self.docs or self.docs[-1].article is not None or self.docs[-1].name != batch:
            self.docs.append(_Doc(batch))
        self.docs[-1].records.append((index, tags))

    # ------------------------------------------------------------ rendering

    def render(self) -> str:
        units: list[dict] = []
        body = [self._legend()]
        if len(self.docs) > 1:
            body.append(self._index())
        for d, doc in enumerate(self.docs, 1):
            body.append(self._article(d, doc, units) if doc.article is not None
                        else self._batch(d, doc, units))
        if not self.docs:
            body.append("<p>Nothing was tagged.</p>")
        title = (f"classify: {self.docs[0].name}" if len(self.docs) == 1
                 else f"classify: {len(self.docs)} documents")
        data = {"topics": [[t, self.colours[t], self._description(t)]
                           for t in self.tagger.topic_labels],
                "stance": [[s, *self.marks[s]] for s in self.tagger.stance_labels],
                "units": units}
        script = _SCRIPT
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        csp = (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; "
               "img-src data:")
        return "\n".join([
            "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
            f"<meta http-equiv='Content-Security-Policy' content=\"{csp}\">",
            "<meta name='viewport' content='width=device-width,initial-scale=1'>",
            f"<title>{_e(title)}</title>", f"<style>{_CSS}</style></head><body>",
            "<div class='layout'><main>",
            f"<h1>{_e(title)}</h1>", self._about(), *body, "</main>",
            "<aside id='panel' aria-live='polite'><div id='panel-body'><p class='hint'>Hover "
            "over, focus or click a sentence to see its scores and the words that pushed each "
            "label (a click pins it).</p></div></aside></div>",
            "<noscript><p class='hint'>Scripts are off: each sentence's scores are in its "
            "tooltip; the word shading needs scripts.</p></noscript>",
            f"<script type='application/json' id='data'>{_json(data)}</script>",
            f"<script>{script}</script>", "</body></html>"]) + "\n"

    def _description(self, topic: str) -> str:
        return str(self.tagger.meta.get("labels", {}).get("topics", {}).get(topic, "") or "")

    def _about(self) -> str:
        meta = self.tagger.meta
        sha = str(meta.get("model_sha256", ""))[:12]
        records = meta.get("data", {}).get("records")
        trained = f", trained on {records:,} records" if isinstance(records, int) else ""
        return (f"<p class='about'>Tagged by classify {__version__} with model "
                f"{_e(sha or 'unverified')}{trained}.</p>")

    def _legend(self) -> str:
        tl, sl = self.tagger.topic_labels, self.tagger.stance_labels
        parts = ["<section class='legend' aria-label='legend'>"]
        if tl:
            parts.append("<div><b>Topics</b> (a band of colour per topic): "
                         + " ".join(self._chip(t, title=self._description(t)) for t in tl)
                         + "</div>")
        if sl:
            parts.append("<div><b>Stance</b> (marker before each sentence): "
                         + " &nbsp;".join(f"{self._mark(s)}{_e(s)}" for s in sl) + "</div>")
        parts.append("<div><b>Words</b> (side panel): <span class='w' style='background:"
                     "rgba(26,150,65,.55)'>pushed toward</span> or <span class='w' style='"
                     "background:rgba(215,48,39,.55)'>away from</span> a label; the stronger "
                     "the colour, the stronger the push</div>")
        described = [t for t in tl if self._description(t)]
        if described:
            parts.append("<details><summary>What the topics cover</summary><dl>"
                         + "".join(f"<dt>{self._chip(t)}</dt><dd>{_e(self._description(t))}"
                                   "</dd>" for t in described) + "</dl></details>")
        parts.append("</section>")
        return "".join(parts)

    def _chip(self, topic: str, extra: str = "", title: str = "") -> str:
        tip = f" title='{_e(title)}'" if title else ""
        return (f"<span class='chip' style='background:{_tint(self.colours[topic])};"
                f"border-color:{self.colours[topic]}'{tip}>{_e(topic)}{extra}</span>")

    def _mark(self, stance: str | None) -> str:
        if stance is None:
            return ""
        m, c = self.marks[stance]
        return f"<span class='mk' style='color:{c}' title='{_e(stance)}'>{m}</span>"

    def _index(self) -> str:
        rows = []
        for d, doc in enumerate(self.docs, 1):
            if doc.article is not None:
                a = doc.article
                what = f"{len(a.sentences)} sentences"
                tops = " ".join(self._chip(t) for t in a.topics) or "no topic"
                stance = f"{self._mark(a.stance)} {_e(a.stance)}" if a.stance else ""
            else:
                what = f"{len(doc.records)} records"
                tops, stance = "", ""
            rows.append(f"<tr><td><a href='#d{d}'>{_e(doc.name)}</a></td><td>{what}</td>"
                        f"<td>{tops}</td><td>{stance}</td></tr>")
        return ("<section class='index'><h2>Index</h2><table><thead><tr><th>document</th>"
                "<th>size</th><th>topics</th><th>stance</th></tr></thead><tbody>"
                + "".join(rows) + "</tbody></table></section>")

    def _article(self, d: int, doc: _Doc, units: list[dict]) -> str:
        a = doc.article
        assert a is not None
        parts = [f"<section class='doc' id='d{d}'><h2>{_e(a.name)}</h2><div class='summary'>"]
        if self.tagger.topic_labels:
            tops = " ".join(self._chip(t, f" <small>{int(a.topic_support[t]['sentences'])} "
                                          "sentences</small>") for t in a.topics)
            parts.append(f"<p><b>Article topics:</b> {tops or 'none'}</p>")
        if a.stance:
            scores = ", ".join(f"{_e(k)} {v:.2f}" for k, v in a.stance_scores.items())
            parts.append(f"<p><b>Article stance:</b> {self._mark(a.stance)} "
                         f"<b>{_e(a.stance)}</b> <small>(mean sentence probability: "
                         f"{scores})</small></p>")
        parts.append(f"<p class='rule'><b>Rule:</b> {_e(a.rule)}.</p></div><div class='text'>"
                     "<p>")
        prev_end = None
        for i, t in enumerate(a.sentences, 1):
            if prev_end is not None:
                gap = (doc.text[prev_end:t.start] if doc.text is not None and t.start is not None
                       else " ")
                parts.append("</p><p>" if "\n" in gap else " ")
            parts.append(self._unit(f"d{d}s{i}", f"sentence {i} of {a.name}", t, units,
                                    str(i)))
            prev_end = t.end
        parts.append("</p></div></section>")
        return "".join(parts)

    def _batch(self, d: int, doc: _Doc, units: list[dict]) -> str:
        rows, blocks = [], []
        for index, t in doc.records:
            rid = f"d{d}r{index}"
            name = f"#{index}" + (f" (id {t.id})" if t.id is not None else "")
            if t.error:
                rows.append(f"<tr><td>{index}</td><td>{_e(t.id or '')}</td>"
                            f"<td colspan='3' class='err'>{_e(t.error)}</td></tr>")
                continue
            tops = " ".join(self._chip(x) for x in t.topics or ()) or "no topic"
            stance = f"{self._mark(t.stance)} {_e(t.stance)}" if t.stance else ""
            rows.append(f"<tr><td><a href='#{rid}'>{index}</a></td><td>{_e(t.id or '')}</td>"
                        f"<td>{tops}</td><td>{stance}</td><td>{_e(_snippet(t.text, 90))}</td>"
                        "</tr>")
            blocks.append(f"<div class='rec'><div class='rechead'>{_e(name)}</div><p>"
                          + self._unit(rid, f"record {name} of {doc.name}", t, units, "")
                          + "</p></div>")
        return (f"<section class='doc' id='d{d}'><h2>{_e(doc.name)}</h2>"
                f"<p>{len(doc.records)} records, each tagged as one unit.</p>"
                "<table class='records'><thead><tr><th>#</th><th>id</th><th>topics</th>"
                "<th>stance</th><th>text</th></tr></thead><tbody>" + "".join(rows)
                + "</tbody></table><div class='text'>" + "".join(blocks) + "</div></section>")

    def _unit(self, uid: str, label: str, t: Tags, units: list[dict], number: str) -> str:
        """One highlighted sentence or record, and its data for the panel."""
        topics = t.topics or []
        scores = t.topic_scores or {}
        stance_scores = t.stance_scores or {}
        units.append(self._unit_data(uid, label, t))
        tip = ", ".join(f"{x} {scores[x]:.2f}" for x in topics) or "no topic"
        if t.stance:
            tip += f" | {t.stance} {stance_scores[t.stance]:.2f}"
        style = _bands([self.colours[x] for x in topics])
        cls = "u has-topic" if topics else "u"
        num = f"<sup>{_e(number)}</sup>" if number else ""
        return (f"<span class='{cls}' id='{uid}' data-u='{len(units) - 1}' tabindex='0'"
                f"{style} title='{_e(tip)}'>{num}{self._mark(t.stance)}{_e(t.text)}</span>")

    def _unit_data(self, uid: str, label: str, t: Tags) -> dict:
        model = self.tagger.model
        tl, sl = self.tagger.topic_labels, self.tagger.stance_labels
        scores = t.topic_scores or {}
        stance_scores = t.stance_scores or {}
        chosen = list(t.topics or [])
        by_score = sorted(tl, key=lambda x: -scores[x])
        explained = chosen + [x for x in by_score if x not in chosen][
            :max(0, EXPLAINED_TOPICS - len(chosen))]
        stances = sorted(sl, key=lambda s: -stance_scores[s])[:EXPLAINED_STANCES]
        asks = [(part, [labels.index(x) for x in names]) for part, names, labels in
                (("topics", explained, tl), ("stance", stances, sl)) if names]
        why = []
        words = None
        for c in contributions_of(model, t.text, asks):
            words = c.words
            why.append([c.label, c.part, round(c.bias, 3), [round(v, 3) for v in c.values]])
        thresholds = (dict(zip(tl, model.topics.thresholds.tolist(), strict=True))
                      if model.topics is not None else {})
        listed = chosen + [x for x in by_score if x not in chosen][
            :max(0, PANEL_TOPICS - len(chosen))]
        at = _utf16_offsets(t.text)
        return {
            "id": uid, "label": label, "text": t.text,
            "w": [at(x) for w in words or [] for x in (w.start, w.end)],
            "topics": [[x, scores[x], round(thresholds[x], 4), x in chosen]
                       for x in sorted(listed, key=lambda x: -scores[x])],
            "more": len(tl) - len(listed),
            "stance": [[s, stance_scores[s], s == t.stance] for s in
                       sorted(sl, key=lambda s: -stance_scores[s])],
            "why": why,
        }


def _utf16_offsets(text: str):  # noqa: ANN202 - a small closure
    """Offsets in ``text`` as JavaScript counts them (UTF-16 code units)."""
    if all(ord(c) < 0x10000 for c in text):
        return lambda i: i
    units = [0]
    for c in text:
        units.append(units[-1] + (2 if ord(c) >= 0x10000 else 1))
    return units.__getitem__


def _bands(colours: list[str]) -> str:
    """A style attribute shading a sentence in horizontal bands, one per topic colour."""
    if not colours:
        return ""
    n = len(colours)
    stops = ",".join(f"{_tint(c)} {100 * i / n:.4g}% {100 * (i + 1) / n:.4g}%"
                     for i, c in enumerate(colours))
    return f" style='background:linear-gradient({stops})'"


def _tint(colour: str) -> str:
    """A light version of a colour, for backgrounds that keep black text legible."""
    return f"color-mix(in srgb,{colour} 38%,white)"


def _e(s: object) -> str:
    return html.escape(str(s), quote=True)


def _json(obj: object) -> str:
    """JSON safe inside a <script> element."""
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _snippet(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;
color:#1d1d1d;background:#fff;line-height:1.55}
.layout{display:grid;grid-template-columns:minmax(0,1fr) 440px;gap:1.5em;max-width:1500px;
margin:0 auto;padding:0 1.2em}
main{min-width:0;padding-bottom:3em}
h1{font-size:1.35em;margin:.8em 0 .2em}h2{font-size:1.12em;margin:1.2em 0 .4em}
.about,.hint,.desc,.rule{color:#555;font-size:.9em}
.legend{background:#f7f7f7;border:1px solid #e2e2e2;border-radius:6px;padding:.4em .9em;
font-size:.93em}.legend div{margin:.2em 0}.legend summary{cursor:pointer;color:#444}
.legend dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em .8em;margin:.4em 0}
.legend dd{margin:0;color:#555}
.chip{display:inline-block;border:1px solid;border-radius:4px;padding:0 .35em;
font-size:.9em;line-height:1.45}
.mk{font-size:.85em;margin-right:.2em}
.summary p{margin:.25em 0}
.text{font-size:1.04em;max-width:52em}.text p{margin:.6em 0}
.u{border-radius:3px;padding:.05em .1em;cursor:pointer;box-decoration-break:clone;
-webkit-box-decoration-break:clone}
.u sup{color:#888;font-size:.62em;margin-right:.15em}
.u:hover,.u:focus{outline:2px solid #444;outline-offset:0}
.u.active{outline:2px solid #000}.u.pinned{outline:3px solid #000}
aside{position:sticky;top:0;align-self:start;max-height:100vh;overflow:auto;
border-left:1px solid #ddd;padding:.6em 0 1em 1.2em;font-size:.92em}
aside h3{font-size:1.02em;margin:.6em 0 .3em}aside h4{margin:.9em 0 .2em;font-size:.95em}
table{border-collapse:collapse;margin:.4em 0}
td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}.index td,.records td{font-size:.9em}
.sc td{border:none;padding:.1em .4em}.sc .on{font-weight:bold}
.bar{display:inline-block;height:.7em;background:#bbb;vertical-align:middle;
border-radius:2px}.num{text-align:right;font-variant-numeric:tabular-nums}
.whyhead{margin-top:.9em}.why{margin:.2em 0 .2em;line-height:1.8}
.w{border-radius:2px;padding:0 .05em}
.top{color:#444;font-size:.88em;line-height:1.4}
.rec{margin:.8em 0}.rechead{color:#666;font-size:.85em}.err{color:#b00}
@media (max-width:900px){.layout{grid-template-columns:1fr}
aside{position:static;border-left:none;border-top:1px solid #ddd;max-height:none}}
"""

_SCRIPT = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var colour = {}, mark = {};
  data.topics.forEach(function (t) { colour[t[0]] = t[1]; });
  data.stance.forEach(function (s) { mark[s[0]] = [s[1], s[2]]; });
  var body = document.getElementById("panel-body");
  var active = null, pinned = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function fmt(x) { return x.toFixed(2); }
  function signed(x) { return (x >= 0 ? "+" : "\\u2212") + Math.abs(x).toFixed(2); }
  function bar(p, c) {
    var b = el("span", "bar");
    b.style.width = Math.round(90 * p) + "px";
    if (c) { b.style.background = c; }
    return b;
  }
  function scoreTable(u) {
    var t = el("table", "sc");
    if (u.topics.length) {
      var h = t.insertRow(); var th = el("th", "", "topic score (threshold)");
      th.colSpan = 3; h.appendChild(th);
      u.topics.forEach(function (x) {
        var r = t.insertRow(); if (x[3]) { r.className = "on"; }
        r.insertCell().textContent = (x[3] ? "\\u2713 " : "") + x[0];
        r.insertCell().appendChild(bar(x[1], colour[x[0]]));
        var c = r.insertCell(); c.className = "num";
        c.textContent = fmt(x[1]) + " (" + fmt(x[2]) + ")";
      });
      if (u.more) {
        var m = t.insertRow().insertCell(); m.colSpan = 3;
        m.textContent = "+ " + u.more + " more topics with lower scores";
      }
    }
    if (u.stance.length) {
      var h2 = t.insertRow(); var th2 = el("th", "", "stance probability");
      th2.colSpan = 3; h2.appendChild(th2);
      u.stance.forEach(function (s) {
        var r = t.insertRow(); if (s[2]) { r.className = "on"; }
        var c0 = r.insertCell(); var mk = el("span", "mk", mark[s[0]][0]);
        mk.style.color = mark[s[0]][1]; c0.appendChild(mk);
        c0.appendChild(document.createTextNode(s[0]));
        r.insertCell().appendChild(bar(s[1], mark[s[0]][1]));
        var c = r.insertCell(); c.className = "num"; c.textContent = fmt(s[1]);
      });
    }
    return t;
  }
  function shaded(u, values) {
    var box = el("div", "why"), pos = 0, max = 0, i;
    for (i = 0; i < values.length; i++) { max = Math.max(max, Math.abs(values[i])); }
    for (i = 0; i < values.length; i++) {
      var s = u.w[2 * i], e = u.w[2 * i + 1], v = values[i];
      if (s > pos) { box.appendChild(document.createTextNode(u.text.slice(pos, s))); }
      var w = el("span", "w", u.text.slice(s, e));
      var a = max > 0 ? Math.abs(v) / max : 0;
      if (a > 0.04) {
        w.style.background = (v > 0 ? "rgba(26,150,65," : "rgba(215,48,39,") +
          (0.75 * a).toFixed(3) + ")";
      }
      w.title = signed(v);
      w.dataset.c = v;
      box.appendChild(w);
      pos = e;
    }
    if (pos < u.text.length) { box.appendChild(document.createTextNode(u.text.slice(pos))); }
    return box;
  }
  function top(u, values, sign) {
    var sum = {}, order = [];
    values.forEach(function (v, i) {
      var k = u.text.slice(u.w[2 * i], u.w[2 * i + 1]).toLowerCase();
      if (!(k in sum)) { sum[k] = 0; order.push(k); }
      sum[k] += v;
    });
    return order.filter(function (k) { return sum[k] * sign > 0; })
      .sort(function (a, b) { return sign * (sum[b] - sum[a]); }).slice(0, 4)
      .map(function (k) { return k + " " + signed(sum[k]); }).join(", ");
  }
  function show(span) {
    var u = data.units[+span.dataset.u];
    if (active) { active.classList.remove("active"); }
    active = span; span.classList.add("active");
    body.textContent = "";
    body.appendChild(el("h3", "", u.label.charAt(0).toUpperCase() + u.label.slice(1)));
    body.appendChild(scoreTable(u));
    body.appendChild(el("h4", "", "Words that pushed each label"));
    body.appendChild(el("p", "hint", "green: toward the label, red: away from it; hover a " +
      "word for its share of the score before the logistic function"));
    u.why.forEach(function (x) {
      var score = 0;
      (x[1] === "topics" ? u.topics : u.stance).forEach(function (y) {
        if (y[0] === x[0]) { score = y[1]; }
      });
      var head = el("div", "whyhead");
      var name = el("b", "", x[0]);
      if (x[1] === "topics") {
        name.className = "chip";
        name.style.borderColor = colour[x[0]];
        name.style.background = "color-mix(in srgb," + colour[x[0]] + " 38%,white)";
      } else {
        var mk = el("span", "mk", mark[x[0]][0]); mk.style.color = mark[x[0]][1];
        head.appendChild(mk);
      }
      head.appendChild(name);
      head.appendChild(document.createTextNode(" " + (x[1] === "topics" ? "topic " : "stance ") +
        fmt(score)));
      body.appendChild(head);
      body.appendChild(shaded(u, x[3]));
      var t = el("div", "top");
      var up = top(u, x[3], 1), down = top(u, x[3], -1);
      t.textContent = "toward: " + (up || "-") + (down ? "; away: " + down : "");
      body.appendChild(t);
    });
    if (!u.why.length) { body.appendChild(el("p", "hint", "No label to explain.")); }
  }
  function unit(target) {
    return target && target.closest ? target.closest(".u") : null;
  }
  document.addEventListener("mouseover", function (ev) {
    var s = unit(ev.target); if (s && !pinned && s !== active) { show(s); }
  });
  document.addEventListener("focusin", function (ev) {
    var s = unit(ev.target); if (s && !pinned) { show(s); }
  });
  function pin(s) {
    if (pinned) { pinned.classList.remove("pinned"); }
    if (pinned === s) { pinned = null; return; }
    pinned = s; s.classList.add("pinned"); show(s);
    if (history.replaceState) { history.replaceState(null, "", "#" + s.id); }
  }
  document.addEventListener("click", function (ev) {
    var s = unit(ev.target); if (s) { pin(s); }
  });
  document.addEventListener("keydown", function (ev) {
    var s = unit(ev.target);
    if (s && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); pin(s); }
  });
  var wanted = location.hash ? document.getElementById(location.hash.slice(1)) : null;
  if (unit(wanted)) {
    pinned = wanted; wanted.classList.add("pinned"); show(wanted);
    var r = wanted.getBoundingClientRect();
    if (r.top < 0 || r.bottom > window.innerHeight) { wanted.scrollIntoView({block: "center"}); }
  } else {
    var first = document.querySelector(".u.has-topic") || document.querySelector(".u");
    if (first) { show(first); }
  }
  document.body.dataset.ready = "1";
})();
"""
