"""People in the order of a Vietnamese class list: by given name, then family and middle names.

A school's paper lists (and the Excel files they come from) sort by the given name (tên, the
last word), and between equal given names by the rest of the name as written (họ và tên đệm),
each in the Vietnamese alphabet: a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y,
tones after letters (a à ả ã á ạ). ICU's Vietnamese collation (CLDR) knows that order; code
points do not (they put "Hằng" after "Hoàng" and "Đ" after "Z"). So the STT of every list the
system prints matches the school's own.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Iterable
from typing import TypeVar

import icu  # type: ignore[import-untyped]

__all__ = ["name_key", "sorted_by_name", "text_key"]

T = TypeVar("T")


@functools.cache
def _collator() -> icu.Collator:
    collator = icu.Collator.createInstance(icu.Locale("vi_VN"))
    # "Nguyễn" and "nguyễn" sort together; case only breaks a tie.
    collator.setStrength(icu.Collator.TERTIARY)
    return collator


def text_key(text: str) -> bytes:
    """A sort key for any Vietnamese text (a class name, a subject), in the Vietnamese alphabet."""
    key: bytes = _collator().getSortKey(unicodedata.normalize("NFC", text).strip())
    return key


def name_key(full_name: str) -> tuple[bytes, bytes]:
    """The sort key of a person by full name ("Đỗ Hữu Anh"): (given name, family and middle names)."""
    words = unicodedata.normalize("NFC", full_name).split()
    if not words:
        return (b"", b"")
    return (text_key(words[-1]), text_key(" ".join(words[:-1])))


def sorted_by_name(people: Iterable[T], full_name: Callable[[T], str]) -> list[T]:
    """People as a class list orders them; `full_name` reads each one's name."""
    return sorted(people, key=lambda person: name_key(full_name(person)))
