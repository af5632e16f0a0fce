"""HTML pages as inputs: the article's title and main text, by trafilatura.

trafilatura (Apache-2.0) has the best published F1 of the Python main-text extractors on the
Scrapinghub article-extraction benchmark (0.958); it is an optional dependency
(``pip install 'classify[html]'``). The text handed to the splitter is the title on a line of
its own, a blank line, then the main text with one paragraph a line; sentence offsets refer
to that text. A page with no article text (fewer than ``MIN_ARTICLE_WORDS`` words in lines
that ``boilerplate`` takes for prose: an index, a login or an error page) is a ``DataError``
naming the input, not an article to tag.
"""

from __future__ import annotations

import re

from .boilerplate import line_verdicts
from .errors import DataError

HTML_SUFFIXES = (".html", ".htm", ".xhtml")
MIN_ARTICLE_WORDS = 15  # fewer words of prose than this: a page without an article
# A news page is a few hundred KB; the extractor's time grows faster than the page's size
# (11 MB took a minute, 35 MB did not finish) and it cannot be interrupted meanwhile
MAX_PAGE_CHARS = 5_000_000
HINT = "HTML inputs need trafilatura: pip install 'classify[html]'"
_SNIFF = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*"
                    rb"<(?:!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL)


def looks_like_html(head: bytes) -> bool:
    """Does the start of an input (e.g. stdin) look like an HTML page? True when, after white
    space, an XML declaration (XHTML) and comments, it opens with ``<!DOCTYPE html`` or
    ``<html``."""
    return bool(_SNIFF.match(head[:4096]))


def page_text(html: str, name: str) -> str:
    """The article of an HTML page as text: title, blank line, main text."""
    try:
        import trafilatura
    except ImportError:
        raise DataError(f"{name}: {HINT}") from None
    if len(html) > MAX_PAGE_CHARS:
        raise DataError(f"{name}: an HTML page of {len(html) / 1e6:.0f} million characters is "
                        f"not one news page (the limit is {MAX_PAGE_CHARS / 1e6:.0f} million); "
                        "extract its text and tag that")
    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False,
                                      include_tables=False)
    body = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    prose = [v.text for v in line_verdicts(body) if v.reason is None]
    if sum(len(t.split()) for t in prose) < MIN_ARTICLE_WORDS:
        raise DataError(f"{name}: no article text found in this HTML page")
    title = " ".join((getattr(doc, "title", None) or "").split())
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    if title and lines and " ".join(lines[0].split()) == title:
        lines = lines[1:]
    return (title + "\n\n" if title else "") + "\n".join(lines) + "\n"
