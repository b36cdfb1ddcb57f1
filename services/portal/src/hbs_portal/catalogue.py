"""The English catalogue's upkeep with Babel: extract every wrapped message from the templates and
the Python code, and merge them into locale/en/LC_MESSAGES/messages.po (new ones empty, for a
translator; gone ones dropped). `make messages` runs it; the portal's tests fail while any wrapped
message has no English entry."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

from hbs_portal.i18n import DOMAIN, LOCALE_DIR
from hbs_shared import labels, roles
from hbs_shared.audit import actions

PACKAGE = Path(__file__).parent
METHODS = [("templates/**.html", "jinja2"), ("**.py", "python")]
# Jinja with the same settings as the portal's environment (web/common.py).
OPTIONS = {
    "templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true", "newstyle_gettext": "true"},
}
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}


def shared_labels() -> Iterator[tuple[str, str]]:
    """The names of codes that hbs_shared gives every service (terms, ratings, states, roles, audit
    actions) and the grades service sends back as labels: the portal shows them translated."""
    tables: dict[str, Mapping[Any, str]] = {
        "hbs_shared/labels.py": {
            **{f"term.{k}": v for k, v in labels.TERM_LABELS.items()},
            "year": labels.YEAR_LABEL,
            "year_end": labels.YEAR_END_LABEL,
            **{f"rating.{k}": v for k, v in labels.RATING_LABELS.items()},
            **{f"status.{k}": v for k, v in labels.SUBJECT_STATUS_LABELS.items()},
            **{f"step.{k}": v for k, v in labels.STEP_LABELS.items()},
            **{f"sheet.{k}": v for k, v in labels.SHEET_STATE_LABELS.items()},
            **{f"record.{k}": v for k, v in labels.RECORD_STATE_LABELS.items()},
            **{f"front.{k}": v for k, v in labels.FRONT_PAGE_LABELS.items()},
        },
        "hbs_shared/roles.py": {
            **{f"label.{k}": v for k, v in roles.ROLE_LABELS.items()},
            **{f"title.{k}": v for k, v in roles.ROLE_TITLES.items()},
        },
        "hbs_shared/audit/actions.py": {
            **actions.ACTION_LABELS,
            **{f"kind.{k}": v for k, v in actions.SUBJECT_KIND_LABELS.items()},
            **{f"fault.{k}": v for k, v in actions.FAULT_LABELS.items()},
        },
    }
    for source, table in tables.items():
        for text in table.values():
            if text:
                yield text, source


def extract() -> Catalog:
    """Every message wrapped for translation in the portal, as Babel finds it, and the shared labels."""
    template = Catalog(domain=DOMAIN, project="HBS portal", locale="vi", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        PACKAGE, METHODS, OPTIONS, KEYWORDS, comment_tags=("Translators:",), strip_comment_tags=True
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    for text, source in shared_labels():
        found = template.get(text)
        if found is None:
            template.add(text, None, [(source, 0)])
        else:
            found.locations.append((source, 0))
    return template


def po_path(language: str = "en") -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(language: str = "en") -> Catalog:
    with po_path(language).open("rb") as source:
        return read_po(source, locale=language, domain=DOMAIN)


def update(language: str = "en") -> Catalog:
    """The catalogue merged with what the code wraps today, written back; returns it."""
    path = po_path(language)
    if path.exists():
        catalog = read(language)
    else:
        catalog = Catalog(domain=DOMAIN, project="HBS portal", version="1", locale=language)
        catalog.last_translator = catalog.language_team = "HBS"
    created = catalog.creation_date
    # No fuzzy matching: a near miss would show a wrong English text instead of an empty entry.
    catalog.update(extract(), no_fuzzy_matching=True)
    catalog.obsolete.clear()
    catalog.fuzzy = False
    catalog.creation_date = created  # an unchanged catalogue stays byte for byte the same
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as target:
        # File names without line numbers: editing a template does not churn the catalogue.
        write_po(target, catalog, width=110, include_previous=False, include_lineno=False)
    return catalog


def missing(catalog: Catalog) -> list[str]:
    """Wrapped messages with no usable English: absent, empty or fuzzy (fuzzy ones are not compiled)."""
    gaps = []
    for message in extract():
        if not message.id:  # the header
            continue
        entry = catalog.get(message.id, context=message.context)
        text = entry.string if entry is not None else None
        usable = all(text) if isinstance(text, tuple | list) else bool(text)
        if entry is None or entry.fuzzy or not usable:
            gaps.append(message.id if isinstance(message.id, str) else message.id[0])
    return gaps


if __name__ == "__main__":
    updated = update(sys.argv[1] if len(sys.argv) > 1 else "en")
    gaps = missing(updated)
    print(f"{len(updated)} messages, {len(gaps)} without English")
