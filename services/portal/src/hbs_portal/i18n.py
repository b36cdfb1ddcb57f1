"""The portal's languages: Vietnamese, the source of every message and the default, and English by
a gettext catalogue (locale/en/LC_MESSAGES/messages.po). The reader's choice is a cookie; it is set
for each request by `LanguageMiddleware`, and `_` / `ngettext` translate into it, in templates and
in Python alike. Accept-Language is not consulted: a school in Vietnam reads Vietnamese unless the
person chooses otherwise."""

from __future__ import annotations

import gettext
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import TypeVar

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.types import ASGIApp, Receive, Scope, Send

DEFAULT = "vi"
# code → the language's name in itself: the switch shows "English" to a Vietnamese reader and back.
LANGUAGES: dict[str, str] = {"vi": "Tiếng Việt", "en": "English"}
COOKIE = "hbs_lang"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"

K = TypeVar("K")
_language: ContextVar[str] = ContextVar("hbs_language", default=DEFAULT)


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The language's catalogue, compiled from its .po file once per process (never a stale .mo)."""
    if language == DEFAULT:
        return gettext.NullTranslations()
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out: they fall back to Vietnamese
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def chosen(value: str | None) -> str:
    """A cookie's or a form's language code, if it is one of ours; otherwise Vietnamese."""
    return value if value in LANGUAGES else DEFAULT


def use_language(language: str | None) -> None:
    _language.set(chosen(language))


def current_language() -> str:
    return _language.get()


def _(message: str) -> str:
    """The message in the reader's language (the msgid is the Vietnamese text)."""
    if not message:  # gettext("") is the catalogue's header
        return message
    return translations(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_language.get()).ngettext(singular, plural, n)


class Translated(Mapping[K, str]):
    """A table of labels (code → Vietnamese) read in the language of the request at hand: one
    made at import (a template global) still follows each reader's choice."""

    def __init__(self, labels: Mapping[K, str]) -> None:
        self._labels = labels

    def __getitem__(self, code: K) -> str:
        return _(self._labels[code])

    def __iter__(self) -> Iterator[K]:
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)


def translated(labels: Mapping[K, str]) -> Translated[K]:
    return Translated(labels)


def N_(message: str) -> str:  # noqa: N802 (the gettext convention, known to Babel)
    """Marks a module-level message for the catalogue; it is translated with `_` where shown."""
    return message


def cookie_language(raw_cookie: str) -> str:
    """The choice in a Cookie header; read by hand, so one malformed cookie cannot hide it."""
    for part in raw_cookie.split(";"):
        name, _sep, value = part.strip().partition("=")
        if name == COOKIE:
            return chosen(value.strip('"'))
    return DEFAULT


class LanguageMiddleware:
    """Sets the request's language from the reader's cookie before any handler or error page runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = b"; ".join(value for name, value in scope.get("headers", []) if name == b"cookie")
            use_language(cookie_language(raw.decode("latin-1")))
        await self.app(scope, receive, send)
