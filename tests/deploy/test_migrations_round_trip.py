"""Upgrading can be undone: every app's latest migration goes back one step and forward again
on a populated database, and nothing of the data changes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.operations import AddField, CreateModel
from django.db.models import Sum

from faktura.core import integrity
from faktura.invoicing import selectors
from faktura.invoicing.models import Invoice

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _previous(graph, key: tuple[str, str]) -> tuple[str, str] | None:
    parents = [p.key for p in graph.node_map[key].parents if p.key[0] == key[0]]
    return parents[0] if parents else None


def _one_step_back(executor: MigrationExecutor) -> tuple[set, list]:
    """What going back one migration in every Faktura app unapplies, and the targets.

    Going back in one app unapplies the migrations of other apps that depend on its latest
    one; an app is left at its latest where that would unapply an initial migration (drop
    tables with their data).
    """
    graph = executor.loader.graph
    unapplied: set[tuple[str, str]] = set()
    for key in sorted(graph.leaf_nodes()):
        if not apps.get_app_config(key[0]).name.startswith("faktura."):
            continue
        previous = _previous(graph, key)
        if previous is None:
            continue
        keys = {(m.app_label, m.name) for m, _ in executor.migration_plan([previous])}
        if all(_previous(graph, k) is not None for k in keys):
            unapplied |= keys
    targets = [_previous(graph, k) for k in unapplied if _previous(graph, k) not in unapplied]
    return unapplied, targets


def _new_in(migrations: list) -> tuple[set[str], set[tuple[str, str]]]:
    """The models and fields the migrations create: going back drops them with their data."""
    models, fields = set(), set()
    for migration in migrations:
        for operation in migration.operations:
            if isinstance(operation, CreateModel):
                models.add(f"{migration.app_label}.{operation.name_lower}")
            elif isinstance(operation, AddField):
                fields.add((f"{migration.app_label}.{operation.model_name_lower}", operation.name))
    return models, fields


def _figures(new_models: set[str], new_fields: set[tuple[str, str]]) -> dict[str, object]:
    """Every row of every table older than the stepped-back migrations, and key figures."""
    rows = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if model._meta.proxy or not model._meta.managed or label in new_models:
            continue
        columns = [
            field.attname
            for field in model._meta.concrete_fields
            if (label, field.name) not in new_fields
        ]
        rows[label] = list(model._base_manager.order_by("pk").values_list(*columns))
    finalized = Invoice.objects.filter(status="finalized")
    return {
        "rows": rows,
        "grand_total": finalized.aggregate(s=Sum("grand_total"))["s"],
        "open_amount": sum(
            selectors.with_open_amounts(finalized).values_list("open_amount", flat=True),
            Decimal(0),
        ),
        "problems": sorted(integrity.all_problems()),
    }


def _populate() -> None:
    call_command("demo", verbosity=0)
    call_command("billing-run", verbosity=0)
    call_command("dunning-run", verbosity=0)


def test_every_app_migrates_one_step_back_and_forward_with_its_data(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    _populate()
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    unapplied, previous = _one_step_back(executor)
    assert {"api", "banking", "collection", "core", "dunning", "payments", "webhooks"} <= {
        app_label for app_label, _ in unapplied
    }
    plan = executor.migration_plan(previous)
    assert all(backwards for _, backwards in plan)
    assert {(m.app_label, m.name) for m, _ in plan} == unapplied
    new_models, new_fields = _new_in([migration for migration, _ in plan])
    before = _figures(new_models, new_fields)
    counts = {label: len(rows) for label, rows in before["rows"].items()}
    assert counts["invoicing.invoice"] > 100
    assert counts["payments.allocation"] > 10
    assert counts["subscriptions.subscription"] > 0
    assert counts["dunning.dunningnotice"] > 0

    executor.migrate(previous, plan=plan)
    executor.loader.build_graph()
    assert not unapplied & set(executor.loader.applied_migrations)
    executor.migrate(latest)
    executor.loader.build_graph()
    assert set(latest) <= set(executor.loader.applied_migrations)

    after = _figures(new_models, new_fields)
    changed = [label for label, rows in before["rows"].items() if after["rows"][label] != rows]
    assert changed == []
    assert after == before
