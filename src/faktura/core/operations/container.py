"""The backup file: a ZIP container sealed with the SHA-256 of all its bytes.

Members are streamed in and hashed on the way; ``manifest.json`` lists each member's SHA-256
and size. The ZIP's own comment, the file's last bytes, is the seal: ``faktura-backup
sha256=<hex>`` over every byte before the hex digits. A truncated file has no seal, and a
flipped byte anywhere (data, headers, central directory) breaks it, even where ZIP itself
checks nothing (time stamps, the directory's fields).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _

from faktura.core.errors import DomainError

MANIFEST = "manifest.json"
FORMAT = "faktura-backup"
FORMAT_VERSION = 1
_SEAL_PREFIX = b"faktura-backup sha256="
_DIGITS = 64
_CHUNK = 1024 * 1024
# The DOS time stamp of every member: the manifest carries the real time, and fixed stamps
# keep two backups of the same data comparable byte for byte.
_DATE_TIME = (1980, 1, 1, 0, 0, 0)


class BackupDamaged(DomainError):
    """The backup file is truncated, altered or not a Faktura backup; nothing was restored."""

    code = "backup_damaged"
    http_status = 422


@dataclass(frozen=True)
class Member:
    name: str
    sha256: str
    size: int

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "size": self.size}


class ContainerWriter:
    """Write members one by one, then the manifest, then the seal (``close``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip = zipfile.ZipFile(path, "w", allowZip64=True)
        self._zip.comment = _SEAL_PREFIX + b"0" * _DIGITS
        self.members: list[Member] = []

    def add_stream(self, name: str, source: IO[bytes], *, compress: bool = True) -> Member:
        info = zipfile.ZipInfo(name, date_time=_DATE_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        digest = hashlib.sha256()
        size = 0
        with self._zip.open(info, "w", force_zip64=True) as out:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        member = Member(name, digest.hexdigest(), size)
        self.members.append(member)
        return member

    def add_file(self, name: str, path: Path, *, compress: bool = True) -> Member:
        with path.open("rb") as source:
            return self.add_stream(name, source, compress=compress)

    def close(self, manifest: dict[str, Any]) -> None:
        manifest = {**manifest, "members": [m.as_json() for m in self.members]}
        data = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode()
        info = zipfile.ZipInfo(MANIFEST, date_time=_DATE_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        self._zip.writestr(info, data)
        self._zip.close()
        _seal(self.path)

    def abort(self) -> None:
        self._zip.close()


def _seal(path: Path) -> None:
    size = path.stat().st_size
    digest = _hash_range(path, size - _DIGITS)
    with path.open("r+b") as file:
        file.seek(size - _DIGITS)
        file.write(digest.encode())


def _hash_range(path: Path, length: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        remaining = length
        while remaining > 0:
            chunk = file.read(min(_CHUNK, remaining))
            if not chunk:
                break
            digest.update(chunk)
            remaining -= len(chunk)
    return digest.hexdigest()


def _damaged(detail: str) -> BackupDamaged:
    return BackupDamaged(
        _(
            "Die Sicherung ist beschädigt oder unvollständig: %(detail)s. "
            "Nichts wurde wiederhergestellt."
        )
        % {"detail": detail}
    )


class VerifiedContainer:
    """A backup whose seal and manifest were checked; members are read with their hashes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        check_seal(path)
        try:
            self._zip = zipfile.ZipFile(path)
            manifest = json.loads(self._read_all(MANIFEST))
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, zlib.error) as error:
            raise _damaged(str(error)) from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise _damaged(_("keine Faktura-Sicherung (manifest.json fehlt oder ist fremd)"))
        if manifest.get("format_version") != FORMAT_VERSION:
            raise BackupDamaged(
                _("Sicherungsformat %(version)s wird von dieser Faktura-Version nicht gelesen.")
                % {"version": manifest.get("format_version")},
                code="backup_format_unsupported",
            )
        self.manifest: dict[str, Any] = manifest
        self.members = _members(manifest)
        listed = {m.name for m in self.members}
        present = {name for name in self._zip.namelist() if name != MANIFEST}
        if listed != present:
            extra = sorted(present - listed)[:3]
            missing = sorted(listed - present)[:3]
            raise _damaged(
                _(
                    "Inhalt und Manifest weichen ab "
                    "(fehlt: %(missing)s; nicht verzeichnet: %(extra)s)"
                )
                % {"missing": ", ".join(missing) or "-", "extra": ", ".join(extra) or "-"}
            )

    def _read_all(self, name: str) -> bytes:
        with self._zip.open(name) as file:
            return file.read()

    def extract(self, member: Member, target: Path) -> None:
        """Copy a member to ``target``, refusing it unless its size and SHA-256 match."""
        digest = hashlib.sha256()
        size = 0
        try:
            with self._zip.open(member.name) as source, target.open("wb") as out:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as error:
            raise _damaged(f"{member.name}: {error}") from None
        if size != member.size or digest.hexdigest() != member.sha256:
            raise _damaged(
                _("%(name)s weicht vom Manifest ab (SHA-256 oder Größe)") % {"name": member.name}
            )

    def close(self) -> None:
        self._zip.close()


def check_seal(path: Path) -> None:
    """Refuse a file whose seal is missing (truncated, not a backup) or does not match."""
    try:
        size = path.stat().st_size
        with path.open("rb") as file:
            file.seek(max(0, size - len(_SEAL_PREFIX) - _DIGITS))
            tail = file.read()
    except FileNotFoundError:
        raise BackupDamaged(
            _("Die Sicherungsdatei %(path)s gibt es nicht.") % {"path": path}, code="not_found"
        ) from None
    prefix, digits = tail[:-_DIGITS], tail[-_DIGITS:]
    if prefix != _SEAL_PREFIX or not _is_hex(digits):
        raise _damaged(_("das Siegel am Dateiende fehlt (abgeschnitten oder keine Sicherung)"))
    if _hash_range(path, size - _DIGITS) != digits.decode():
        raise _damaged(_("die Prüfsumme der Datei stimmt nicht (Datei verändert)"))


def _is_hex(data: bytes) -> bool:
    return len(data) == _DIGITS and all(c in b"0123456789abcdef" for c in data)


def _members(manifest: dict[str, Any]) -> list[Member]:
    members = []
    for entry in manifest.get("members") or []:
        try:
            member = Member(str(entry["name"]), str(entry["sha256"]), int(entry["size"]))
        except (KeyError, TypeError, ValueError):
            raise _damaged(_("ein Eintrag des Manifests ist unlesbar")) from None
        if member.name.startswith("/") or ".." in member.name.split("/"):
            raise _damaged(_("unzulässiger Name %(name)s") % {"name": member.name})
        members.append(member)
    return members
