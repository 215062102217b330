"""Reading a back-office page as a person does: a fragment's visible text, a table's rows."""

from __future__ import annotations

import re


def text(html: str) -> str:
    """What a reader sees of a fragment: tags dropped, spaces collapsed (not the \\xa0)."""
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def rows(html: str, marker: str) -> list[str]:
    """The body rows of the table after ``marker``, as the cells' texts joined by " | "."""
    body = html.split(marker)[1].split("<tbody>")[1].split("</tbody>")[0]
    return [
        " | ".join(text(cell) for cell in row.split("</td>")[:-1]).strip()
        for row in body.split("</tr>")[:-1]
    ]
