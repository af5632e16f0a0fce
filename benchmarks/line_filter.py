"""Precision and recall of the scraped-page line filter (``classify.boilerplate``).

The pages: the scraped seed article ``seeds/002_*.txt`` and four pages written for this
benchmark in the shapes scrapers produce (a wire story with a menu and share bar, a regional
paper with bylines, timestamps and a cookie notice, a live page with repeated headlines and
"Read more" links, a clean article). Each line is labelled by hand: ``+`` prose to keep,
``-`` furniture to drop. A dropped line is a positive: precision is the share of dropped
lines that are furniture, recall the share of furniture lines dropped.

    python benchmarks/line_filter.py [--show]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classify.boilerplate import line_verdicts  # noqa: E402

# The seed page: lines 6 (headline) and 18 (body) are prose; the repeats of the headline,
# "logo", "#", the hashtag link, the source name, the date, the section bullets and the app
# banner are not.
SEED_KEEP = {6, 18}

PAGES = [
    """\
- Skip to main content
- Home
- World
- Business
- Sport
+ Drug smugglers used fishing boats to move cocaine, court told
- By Staff Reporter
- Published 12 March 2024, 09:14 GMT
- Share
- Facebook
- X
+ LONDON (Reuters) - A gang used fishing boats to bring two tonnes of cocaine ashore, a court heard.
+ Prosecutors said the men met the boats at sea off the Cornish coast.
+ "This was an industrial operation," the prosecutor told the jury.
+ The trial continues.
- Related articles
- Police seize heroin at port
- Advertisement
- Sign up for our newsletter
- © 2024 News Group. All rights reserved.
""",
    """\
- Menu
- Search
- Subscribe now
+ Airport expansion approved despite noise protests
- Tuesday 4 June 2024
- 2 hours ago
- By Jane Smith, Transport Correspondent
+ Council planners approved a second runway at the airport, despite objections to night flights.
+ The airline said it would add 14 routes.
- Comments (42)
- We use cookies to improve your experience. Accept all cookies
+ Campaigners vowed to appeal.
- Most read
- 1
- 2
- 3
- Back to top
""",
    """\
+ Live: Border agency updates on Channel crossings
- Live
- Updated 10:32
+ More than 400 people crossed the Channel in small boats on Monday, the Home Office said.
- Live: Border agency updates on Channel crossings
+ The French coastguard rescued a further 60 people off Calais.
- Read more: What we know about the crossings
- 10:05
+ Ministers will meet their French counterparts on Thursday.
- Share this article
- Follow us on Instagram
- |
""",
    """\
+ Militants attack checkpoint in northwest Pakistan
+ PESHAWAR, Pakistan (AP) - Militants attacked a police checkpoint overnight, killing three.
+ No group claimed responsibility.
+ The Pakistani Taliban have stepped up attacks in the region since 2022.
+ Police launched a search operation.
""",
]


def labelled() -> list[tuple[str, list[tuple[str, bool]]]]:
    """(page name, [(line, is furniture)]) for every page."""
    seed = next((ROOT / "seeds").glob("002_*.txt"))
    text = seed.read_text(encoding="utf-8")
    out = [(seed.name, [(ln, i not in SEED_KEEP) for i, ln in
                        enumerate(text.splitlines(), 1) if ln.strip()])]
    for k, page in enumerate(PAGES, 1):
        out.append((f"page {k}", [(ln[2:], ln[0] == "-") for ln in page.splitlines()]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--show", action="store_true", help="print every line and its verdict")
    args = ap.parse_args()
    tp = fp = fn = tn = 0
    for name, lines in labelled():
        text = "\n".join(ln for ln, _ in lines) + "\n"
        verdicts = line_verdicts(text)
        assert len(verdicts) == len(lines), name
        for (ln, furniture), v in zip(lines, verdicts, strict=True):
            dropped = v.reason is not None
            tp += dropped and furniture
            fp += dropped and not furniture
            fn += furniture and not dropped
            tn += not furniture and not dropped
            if args.show or dropped != furniture:
                mark = "ok " if dropped == furniture else "ERR"
                print(f"{mark} {name}: {'drop' if dropped else 'keep'} {ln[:70]!r}"
                      f"{' (' + v.reason + ')' if v.reason else ''}")
    print(f"lines: {tp + fp + fn + tn} ({tp + fn} furniture, {fp + tn} prose)")
    print(f"dropped lines: precision {tp / max(1, tp + fp):.3f}, recall "
          f"{tp / max(1, tp + fn):.3f} (tp {tp}, fp {fp}, fn {fn})")


if __name__ == "__main__":
    main()
