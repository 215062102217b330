"""Background entry points of the dunning app (run after the sending commit)."""

from __future__ import annotations

from django_tasks import task


@task()
def deliver_notice_letters(notice_ids: list[int]) -> None:
    """Render, archive and mail the letters of sent notices (idempotent; see letter.py)."""
    from faktura.dunning import letter

    letter.deliver_many(notice_ids)
