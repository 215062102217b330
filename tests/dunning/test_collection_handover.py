"""Handing hopeless claims to the collection agency: proposal, approval, the CSV, after."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from decimal import Decimal

import pytest

from faktura.access import selectors as access_selectors
from faktura.core import clock
from faktura.core.errors import PermissionRefused
from faktura.dunning import collection_handover as handover
from faktura.dunning.models import (
    CollectionCase,
    CollectionExportLayout,
    DunningCase,
    DunningNotice,
    VatCorrection,
)
from faktura.payments.selectors import open_amounts
from tests.dunning.helpers import overdue, run

D = dt.date
E = Decimal
DUE = D(2026, 10, 1)

pytestmark = pytest.mark.django_db


# The consolidated notices' fees (2.50 each at levels 1-3) stand on the first invoice's row;
# interest 6.27 % (base rate 1.27 + 5 points) per invoice up to the final notice.
DEFAULT_CSV = (
    "Glaeubiger;GlaeubigerAnschrift;Anrede;Firma;Name;Strasse;PLZ;Ort;Land;"
    "Email;Telefon;KundenNr;RechnungsNr;Rechnungsdatum;Faelligkeit;"
    "Hauptforderung;Bezahlt;Offen;Waehrung;Forderungsgrund;Verzug seit;"
    "Zinssatz;Zinsen;Mahndatum;Mahngebuehren;Sonstige Kosten;Bestritten;"
    "Ruecklastschriftgrund\r\n"
    "Muster Software GmbH;Friedrichstraße 123, 10117 Berlin;;;"
    "Max Mustermann;Lindenweg 7;80331;München;DE;max@example.org;;K00001;"
    "RE-2026-00001;17.09.2026;01.10.2026;100,00;0,00;100,00;EUR;"
    "Dienstleistung;02.10.2026;6,27;0,84;19.11.2026;7,50;0,00;nein;\r\n"
    "Muster Software GmbH;Friedrichstraße 123, 10117 Berlin;;;"
    "Max Mustermann;Lindenweg 7;80331;München;DE;max@example.org;;K00001;"
    "RE-2026-00002;17.09.2026;01.10.2026;50,00;0,00;50,00;EUR;"
    "Dienstleistung;02.10.2026;6,27;0,42;19.11.2026;0,00;0,00;nein;\r\n"
)


def at(day: dt.date):
    return clock.frozen(dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC))


@pytest.fixture
def handed(consumer, actor):
    """Two invoices of a consumer through the full dunning sequence, proposed 14 days
    after the final notice."""
    first = overdue(consumer, actor, due=DUE, price="100.00")
    second = overdue(consumer, actor, due=DUE, price="50.00")
    for day in (D(2026, 10, 8), D(2026, 10, 22), D(2026, 11, 5), D(2026, 11, 19)):
        run(day)
    run(D(2026, 12, 2))  # 13 days after the final notice: too early
    assert not CollectionCase.objects.exists()
    run(D(2026, 12, 3))
    run(D(2026, 12, 4))  # proposes nothing twice
    case = CollectionCase.objects.get()
    return case, first, second


def test_proposal_after_the_final_level_and_its_waiting_time(handed):
    case, first, second = handed
    assert case.status == "proposed"
    assert case.proposed_on == D(2026, 12, 3)
    assert sorted(case.items.values_list("invoice_id", "open_amount")) == sorted(
        [(first.pk, first.payable_amount), (second.pk, second.payable_amount)]
    )


def test_approval_freezes_dunning_and_blocks_access(handed, approver, actor):
    case, first, second = handed
    with pytest.raises(PermissionRefused):
        handover.approve_case(case_id=case.pk, actor=actor)
    with at(D(2026, 12, 4)):
        handover.approve_case(case_id=case.pk, actor=approver)
    assert set(
        DunningCase.objects.values_list(
            "invoice_id", "handed_to_collection", "handed_to_collection_on"
        )
    ) == {(first.pk, True, D(2026, 12, 4)), (second.pk, True, D(2026, 12, 4))}
    assert access_selectors.status(case.customer_id) == "blocked"
    assert [
        b.reason
        for b in access_selectors.active_blocks(case.customer_id).filter(reason="collection")
    ] == ["collection"]
    notices_before = DunningNotice.objects.count()
    run(D(2027, 1, 31))
    assert DunningNotice.objects.count() == notices_before


def test_export_in_the_default_layout_once(handed, approver, actor):
    case, _first, _second = handed
    with at(D(2026, 12, 4)):
        handover.approve_case(case_id=case.pk, actor=approver)
        export = handover.export_cases(actor=actor)
    assert export is not None
    assert export.csv_sha256 == hashlib.sha256(bytes(export.csv)).hexdigest()
    assert bytes(export.csv).startswith(b"\xef\xbb\xbf")
    assert export.csv.decode("utf-8-sig") == DEFAULT_CSV
    case.refresh_from_db()
    assert (case.status, case.export_id) == ("exported", export.pk)
    with at(D(2026, 12, 5)):
        assert handover.export_cases(actor=actor) is None
    names = zipfile.ZipFile(io.BytesIO(bytes(export.zip))).namelist()
    # The fixture's invoices were never archived as files; the four letters were.
    assert names == letter_names()
    assert export.zip_sha256 == hashlib.sha256(bytes(export.zip)).hexdigest()


def test_export_in_a_custom_layout(handed, approver, actor):
    case, _first, _second = handed
    layout = CollectionExportLayout.objects.create(
        name="Agentur X",
        columns=[
            {"header": "Offen", "field": "claim.open"},
            {"header": "Beleg", "field": "invoice.number"},
            {"header": "Verzug", "field": "claim.default_since", "format": "date"},
        ],
    )
    with at(D(2026, 12, 4)):
        handover.approve_case(case_id=case.pk, actor=approver)
        export = handover.export_cases(actor=actor, layout_id=layout.pk)
    assert export is not None
    assert export.csv.decode("utf-8-sig") == (
        "Offen;Beleg;Verzug\r\n100,00;RE-2026-00001;02.10.2026\r\n50,00;RE-2026-00002;02.10.2026\r\n"
    )


def test_recall_unfreezes_dunning_and_lifts_the_block(handed, approver, actor):
    case, _first, _second = handed
    with at(D(2026, 12, 4)):
        handover.approve_case(case_id=case.pk, actor=approver)
        handover.export_cases(actor=actor)
        handover.recall_case(case_id=case.pk, actor=approver, why="Kunde zahlt direkt")
    case.refresh_from_db()
    assert case.status == "recalled"
    assert not DunningCase.objects.filter(handed_to_collection=True).exists()
    assert not access_selectors.active_blocks(case.customer_id).filter(reason="collection").exists()
    # Free again: the next proposal is a new case.
    run(D(2026, 12, 5))
    assert CollectionCase.objects.filter(status="proposed").count() == 1


def test_write_off_records_the_vat_correction(handed, approver, actor):
    case, first, second = handed
    with at(D(2026, 12, 4)):
        handover.approve_case(case_id=case.pk, actor=approver)
        handover.export_cases(actor=actor)
        corrections = handover.write_off_case(case_id=case.pk, actor=approver, why="Insolvenz")
    # 19 % within the gross amount: 100.00 × 19/119 = 15.97, 50.00 × 19/119 = 7.98.
    assert [(c.invoice_id, c.rate, c.gross, c.net, c.vat, c.date) for c in corrections] == [
        (first.pk, E("19.00"), E("100.00"), E("84.03"), E("15.97"), D(2026, 12, 4)),
        (second.pk, E("19.00"), E("50.00"), E("42.02"), E("7.98"), D(2026, 12, 4)),
    ]
    assert VatCorrection.objects.count() == 2
    assert open_amounts([first.pk, second.pk]) == {first.pk: E("0.00"), second.pk: E("0.00")}
    case.refresh_from_db()
    assert case.status == "closed"


def test_vat_shares_split_over_two_rates_and_keep_the_total():
    taxes = [("S", E("19.00"), E("50.00"), E("9.50")), ("S", E("7.00"), E("40.00"), E("2.80"))]
    # 30.00 of 102.30 gross: 42.80/102.30 at 7 % = 12.55 (VAT 0.82), the rest 17.45 (2.79).
    assert handover.vat_shares(taxes, E("30.00")) == [
        ("S", E("7.00"), E("12.55"), E("0.82")),
        ("S", E("19.00"), E("17.45"), E("2.79")),
    ]


def test_agency_payment_is_booked_to_the_oldest_invoice_first(handed, approver, actor):
    case, first, second = handed
    with at(D(2026, 12, 4)):
        handover.approve_case(case_id=case.pk, actor=approver)
        handover.export_cases(actor=actor)
    with at(D(2027, 1, 10)):
        entry = handover.record_agency_payment(
            case_id=case.pk, amount="120.00", costs="35.70", date="2027-01-10", actor=actor
        )
    assert (entry.amount, entry.costs, entry.date) == (E("120.00"), E("35.70"), D(2027, 1, 10))
    assert open_amounts([first.pk, second.pk]) == {first.pk: E("0.00"), second.pk: E("30.00")}
    assert handover.agency_costs(case) == E("35.70")
    case.refresh_from_db()
    assert case.status == "exported"
    with at(D(2027, 1, 20)):
        handover.record_agency_payment(
            case_id=case.pk, amount="30.00", costs="0", date="2027-01-20", actor=actor
        )
    case.refresh_from_db()
    assert case.status == "closed"
    assert access_selectors.status(case.customer_id) == "active"


@pytest.mark.parametrize(
    ("amount", "costs", "code", "field"),
    [
        ("0.00", "0", "invalid_amount", "amount"),
        ("-5.00", "0", "negative_amount", "amount"),
        ("10.00", "-1.00", "negative_amount", "costs"),
        ("10.00", "1,50", "invalid_amount", "costs"),
    ],
)
def test_an_agency_payment_names_the_wrong_figure_and_books_nothing(
    handed, approver, actor, amount, costs, code, field
):
    from faktura.core.errors import DomainError
    from faktura.dunning.models import CollectionPayment
    from faktura.payments.models import Payment

    case, _first, _second = handed
    with at(D(2026, 12, 4)):
        handover.approve_case(case_id=case.pk, actor=approver)
    with at(D(2027, 1, 10)), pytest.raises(DomainError) as refused:
        handover.record_agency_payment(
            case_id=case.pk, amount=amount, costs=costs, date="2027-01-10", actor=actor
        )
    assert (refused.value.code, refused.value.field) == (code, field)
    assert not CollectionPayment.objects.exists()
    assert not Payment.objects.exists()


def test_the_zip_holds_the_archived_invoice(handed, approver, actor):
    from django.db import transaction

    from faktura.documents import archive

    case, first, _second = handed
    pdf = b"%PDF-1.7 archived invoice"
    stored = archive.store_file(invoice=first, kind="pdf", content=pdf)
    with transaction.atomic():
        archive.record_locked(invoice=first, stored=stored)
    with at(D(2026, 12, 4)):
        handover.approve_case(case_id=case.pk, actor=approver)
        export = handover.export_cases(actor=actor)
    assert export is not None
    bundle = zipfile.ZipFile(io.BytesIO(bytes(export.zip)))
    assert bundle.namelist() == ["rechnungen/RE-2026-00001.pdf", *letter_names()]
    assert bundle.read("rechnungen/RE-2026-00001.pdf") == pdf


def test_the_command_writes_the_files_once(handed, approver, tmp_path):
    from django.core.management import call_command

    case, _first, _second = handed
    with at(D(2026, 12, 4)):
        handover.approve_case(case_id=case.pk, actor=approver)
        out = io.StringIO()
        call_command("collection-export", "--output", str(tmp_path), stdout=out)
    assert out.getvalue().startswith("1 cases, 2 invoices: ")
    written = sorted(p.name for p in tmp_path.iterdir())
    assert len(written) == 2
    csv_file = next(p for p in tmp_path.iterdir() if p.suffix == ".csv")
    assert csv_file.read_bytes().decode("utf-8-sig") == DEFAULT_CSV
    again = io.StringIO()
    call_command("collection-export", "--output", str(tmp_path), stdout=again)
    assert again.getvalue() == "0 cases, 0 invoices: nothing new to hand over.\n"


def test_every_raised_code_is_documented():
    import re
    from pathlib import Path

    from faktura.api.errors import ERROR_CODES

    source = Path(handover.__file__).read_text(encoding="utf-8")
    assert set(re.findall(r'code="([a-z_]+)"', source)) - set(ERROR_CODES) == set()


def test_approval_ends_the_subscriptions_when_the_policy_says_so(handed, approver):
    from faktura.dunning.models import DunningPolicy
    from tests.subscriptions.helpers import plan, subscribe

    case, _first, _second = handed
    monthly = subscribe(case.customer, plan("monthly"), starts_on=D(2026, 12, 1))
    DunningPolicy.objects.update(cancel_subscriptions_on_collection=True)
    with at(D(2026, 12, 4)):
        handover.approve_case(case_id=case.pk, actor=approver)
    monthly.refresh_from_db()
    assert monthly.ends_on == D(2026, 12, 4)


def letter_names() -> list[str]:
    """The archived letters of the fixture's notices, as the ZIP names them."""
    from faktura.dunning.models import NoticeLetter

    names = [
        f"mahnungen/{name}" for name in NoticeLetter.objects.values_list("filename", flat=True)
    ]
    assert len(names) == 4
    return sorted(names)
