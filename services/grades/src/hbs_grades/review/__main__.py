"""`python -m hbs_grades.review SEED SHARE MINIMUM ID…`: draw a review sample again, offline.

An auditor gives the seed, share and minimum a sample shows and the class's record ids (as
`GET /review/samples/{id}/redraw` or the database lists them, in any order); the sample is printed
one id per line, in rank order, to compare with the stored one. No database, no network.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

from hbs_grades.review.draw import ALGORITHM, draw


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hbs_grades.review", description=__doc__)
    parser.add_argument("seed", help="64 hex digits, as the sample shows it")
    parser.add_argument("share", type=int, help="share of the class in percent (1–100)")
    parser.add_argument("minimum", type=int, help="minimum number of records (1–100)")
    parser.add_argument("ids", nargs="+", help="the class's record ids at the draw")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[0-9a-f]{64}", args.seed):
        parser.error("seed: 64 lower-case hex digits")
    if not (1 <= args.share <= 100 and 1 <= args.minimum <= 100):
        parser.error("share and minimum: 1–100")
    print(f"# {ALGORITHM}", file=sys.stderr)
    for item in draw(args.seed, args.ids, args.share, args.minimum):
        print(item)
    return 0


if __name__ == "__main__":
    sys.exit(main())
