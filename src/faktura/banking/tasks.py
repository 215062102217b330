"""Background entry points of statement import (run by the task worker)."""

from __future__ import annotations

from django_tasks import task


@task()
def book_matched_transactions(
    statement_id: int, transaction_ids: list[int] | None = None, actor_label: str = ""
) -> int:
    """Book matched lines of a statement (a chunk of a large import); idempotent.

    Each line is booked once whatever happens: a line is only booked while it is still
    in state matched, under its row lock, and every booking is idempotent by its checksum.
    """
    from faktura.banking import booking
    from faktura.core.actors import Actor

    actor = (
        Actor(label=actor_label, roles=frozenset({"accountant"}))
        if actor_label
        else Actor.system("statement-import")
    )
    done = booking.book_matched(
        statement_id=statement_id, transaction_ids=transaction_ids, actor=actor
    )
    booking.update_counts(statement_id)
    return len(done)
