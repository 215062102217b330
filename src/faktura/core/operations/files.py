"""The files in a backup: every file a row names (archived documents, notice letters,
the letterhead), in the storage the row's field uses.

Files are found through the rows, not by listing a directory: the archive may live in any
storage backend (``STORAGES["archive"]``), and a file no row names is not part of the
installation's data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.apps import apps
from django.core.files.storage import Storage, default_storage
from django.db import models

from faktura.core.operations.database import Query
from faktura.documents.models import archive_storage

ARCHIVE = "archive"
DEFAULT = "default"


@dataclass(frozen=True, order=True)
class StoredName:
    storage: str  # ARCHIVE or DEFAULT
    name: str

    @property
    def member(self) -> str:
        return f"files/{self.storage}/{self.name}"


def storage(key: str) -> Storage:
    return archive_storage() if key == ARCHIVE else default_storage


def storages() -> dict[str, Storage]:
    return {ARCHIVE: archive_storage(), DEFAULT: default_storage}


def _file_fields() -> Iterator[tuple[str, str, str]]:
    """(storage key, table, column) of every file field of every installed model."""
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.local_concrete_fields:
            if isinstance(field, models.FileField):
                key = (
                    ARCHIVE
                    if getattr(field, "_storage_callable", None) is archive_storage
                    else DEFAULT
                )
                yield key, model._meta.db_table, field.column


def referenced_files(query: Query) -> list[StoredName]:
    """Every file named by a row of the snapshot ``query`` reads, sorted, each once."""
    names: set[StoredName] = set()
    for key, table, column in _file_fields():
        rows = query(f'SELECT "{column}" FROM "{table}" WHERE "{column}" <> \'\'')  # noqa: S608
        names.update(StoredName(key, str(name)) for (name,) in rows if name)
    return sorted(names)


def member_name(member: str) -> StoredName | None:
    """The storage and name a backup member goes to; None for a member that is no file."""
    parts = member.split("/", 2)
    if len(parts) == 3 and parts[0] == "files" and parts[1] in (ARCHIVE, DEFAULT):
        return StoredName(parts[1], parts[2])
    return None


def first_file(store: Storage, directory: str = "") -> str | None:
    """The name of some file in ``store``, or None when it holds none."""
    try:
        directories, files = store.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if files:
        return f"{directory}{files[0]}"
    for sub in directories:
        found = first_file(store, f"{directory}{sub}/")
        if found is not None:
            return found
    return None
