"""The random sample of a class's year records (Đ4.2), as a pure function anyone can rerun.

Algorithm (version 1), given a seed (64 hex digits), the population (record ids), a share in
percent and a minimum:
1. size = max(minimum, ceil(len(population) · share / 100)), at most len(population);
2. each id's key is HMAC-SHA256(key = bytes.fromhex(seed), message = the id as lower-case text
   with hyphens, UTF-8), in hex;
3. the ids sorted by (key, id); the first `size` are the sample, in that order.
The population's order does not matter, so an auditor with the stored seed and ids gets the same
sample with ten lines of any language's standard library.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

ALGORITHM = "hmac-sha256-v1"


def new_seed() -> str:
    """256 bits from the operating system's generator, stored with the sample."""
    return secrets.token_hex(32)


def sample_size(population: int, share_percent: int, minimum: int) -> int:
    wanted = max(minimum, -(-population * share_percent // 100))
    return min(population, wanted)


def rank_key(seed: str, item: str) -> str:
    return hmac.new(bytes.fromhex(seed), item.encode(), hashlib.sha256).hexdigest()


def draw(seed: str, population: Iterable[str], share_percent: int, minimum: int) -> list[str]:
    """The sample: a pure function of (seed, the set of ids, share, minimum)."""
    ids = sorted(set(population))
    ranked = sorted(ids, key=lambda item: (rank_key(seed, item), item))
    return ranked[: sample_size(len(ids), share_percent, minimum)]
