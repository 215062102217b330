"""A report's table as a downloadable CSV or XLSX response (``?format=csv|xlsx``)."""

from __future__ import annotations

from typing import Literal

from django.http import HttpResponse

from faktura.reporting.tables import Table, csv_bytes, xlsx_bytes

FileFormat = Literal["csv", "xlsx"]

MIME = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def file_response(table: Table, file_format: FileFormat) -> HttpResponse:
    content = csv_bytes(table) if file_format == "csv" else xlsx_bytes(table)
    response = HttpResponse(content, content_type=MIME[file_format])
    response["Content-Disposition"] = f'attachment; filename="{table.name}.{file_format}"'
    return response
