"""Where an installation keeps what a backup holds: each service's database and signing's
document store, found from the services' own settings (HBS_<SERVICE>_DATABASE_URL, else the SQLite
file in HBS_<SERVICE>_DATA_DIR; the store is HBS_SIGNING_DATA_DIR/documents), as each service
finds them itself. What is deliberately NOT here: the signing keys (in the HSM), the CA, the
identity token key and the secrets in settings (docs/operations.md, "Backup and restore")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic_settings import SettingsConfigDict

from hbs_shared.backup import databases
from hbs_shared.backup.crypto import BackupError
from hbs_shared.settings import ServiceSettings, load_settings

SERVICES: tuple[str, ...] = ("identity", "grades", "signing", "portal")
"""Every service with a database, in the order their snapshots are taken."""
DOCUMENTS_SERVICE = "signing"
DOCUMENT_REFS = ("documents", "sha256")
"""signing's table and column naming each stored document by its SHA-256."""
DOCUMENT_NAME = re.compile(r"^[0-9a-f]{2}/([0-9a-f]{64})\.pdf$")
"""A file of the content-addressed store: `ab/ab…64 hex….pdf` (hbs_signing.documents.store)."""


def _settings_class(service: str) -> type[ServiceSettings]:
    """The settings every service shares, read with that service's prefix (not its own class:
    this package imports no service)."""
    config = SettingsConfigDict(env_prefix=f"HBS_{service.upper()}_", extra="ignore")
    return type(f"{service.title()}Location", (ServiceSettings,), {"model_config": config})


@dataclass(frozen=True)
class Installation:
    databases: Mapping[str, str]
    """Service → its SQLAlchemy database URL."""
    documents: Path
    """signing's document store (a folder of `ab/<sha256>.pdf`)."""

    @classmethod
    def from_settings(cls, data_dir: Path | None = None) -> Installation:
        """As the services would find them from this environment; `data_dir` stands for every
        service's HBS_<SERVICE>_DATA_DIR (the demo's `var/demo`)."""
        overrides = {"data_dir": data_dir} if data_dir is not None else {}
        urls: dict[str, str] = {}
        documents = Path()
        for service in SERVICES:
            settings = load_settings(_settings_class(service), **overrides)
            urls[service] = settings.sqlalchemy_url(service)
            if service == DOCUMENTS_SERVICE:
                documents = settings.data_dir.resolve() / "documents"
        return cls(urls, documents)

    def document_files(self) -> dict[str, Path]:
        """Every stored document: its name in the store (`ab/<sha256>.pdf`) → its path."""
        if not self.documents.is_dir():
            return {}
        found = {}
        for path in sorted(self.documents.glob("??/*.pdf")):
            name = path.relative_to(self.documents).as_posix()
            if DOCUMENT_NAME.match(name) and path.is_file():
                found[name] = path
        return found

    def occupied(self) -> list[str]:
        """Why this installation is not empty (nothing: it is), one reason per place."""
        reasons = []
        for service in SERVICES:
            url = self.databases[service]
            try:
                tables = databases.tables_in(url)
            except BackupError as error:
                reasons.append(f"{service}: {error}")
                continue
            except Exception as error:  # a database that cannot be opened is not an empty one
                reasons.append(f"{service}: cannot open {databases.describe(url)}: {error}")
                continue
            if tables:
                reasons.append(
                    f"{service}: the database {databases.describe(url)} already has {tables} tables"
                )
        if self.documents.exists():
            files = sum(1 for path in self.documents.rglob("*") if path.is_file())
            if files:
                reasons.append(f"signing: the document store {self.documents} already holds {files} files")
        return reasons
