"""Matching stores codes, not sentences: the words come from the catalog when shown."""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import translation

from faktura.banking import reasons
from faktura.banking.models import BankTransaction
from faktura.banking.reasons import Reason
from tests.banking.camt_builder import Entry, Tx, camt, transfer
from tests.banking.helpers import api_client, import_on
from tests.payments.helpers import finalized

migration = importlib.import_module("faktura.banking.migrations.0004_reason_codes")

# Every code with the German sentence matching wrote before the codes, word for word.
GERMAN = [
    (Reason("pending"), "Vorgemerkt, noch nicht gebucht (kommt gebucht wieder)."),
    (
        Reason("transfer_returned"),
        "Rückgabe einer Überweisung von uns (z. B. Erstattung): bitte prüfen.",
    ),
    (
        Reason("debit_file_not_submitted", {"end_to_end_id": "RE-2026-00001"}),
        "RE-2026-00001: Die Lastschriftdatei ist noch nicht als übergeben markiert.",
    ),
    (
        Reason("debit_returned_already", {"end_to_end_id": "RE-2026-00001"}),
        "RE-2026-00001: Diese Lastschrift wurde schon zurückgegeben.",
    ),
    (
        Reason("debit_in_state", {"end_to_end_id": "RE-2026-00001", "state": "rejected"}),
        "RE-2026-00001: Lastschrift im Zustand rejected.",
    ),
    (
        Reason("debit_credited_twice", {"end_to_end_id": "RE-2026-00001"}),
        "Die Gutschrift von RE-2026-00001 steht schon auf diesem Auszug.",
    ),
    (
        Reason("return_unknown"),
        "Rücklastschrift, zu der Faktura keine Lastschrift findet: bitte prüfen.",
    ),
    (
        Reason("return_twice", {"end_to_end_id": "RE-2026-00001"}),
        "Die Rückgabe von RE-2026-00001 steht schon auf diesem Auszug.",
    ),
    (Reason("outgoing"), "Ausgang (Zahlung an Dritte)."),
    (
        Reason("debit_booked_already", {"end_to_end_id": "RE-2026-00001"}),
        "Lastschrift RE-2026-00001 ist schon gebucht.",
    ),
    (
        Reason(
            "debit_amount_differs",
            {"end_to_end_id": "RE-2026-00001", "expected": "119.00", "booked": "100.00"},
        ),
        "Lastschrift RE-2026-00001 über 119.00, gebucht 100.00.",
    ),
    (
        Reason("debit", {"end_to_end_id": "RE-2026-00001", "batch": 7}),
        "Lastschrift RE-2026-00001 aus Lastschriftdatei 7.",
    ),
    (Reason("batch", {"batch": 7}), "Sammelbuchung der Lastschriftdatei 7."),
    (
        Reason("batch_amount_differs", {"batch": 7, "expected": "357.00", "booked": "300.00"}),
        "Lastschriftdatei 7 über 357.00, gebucht 300.00.",
    ),
    (
        Reason("return_recorded_already", {"end_to_end_id": "RE-2026-00001"}),
        "Rückgabe von RE-2026-00001 ist schon erfasst.",
    ),
    (
        Reason("return", {"end_to_end_id": "RE-2026-00001", "return_reason": "AM04"}),
        "Rücklastschrift RE-2026-00001 (AM04).",
    ),
    (
        Reason("return", {"end_to_end_id": "RE-2026-00001", "return_reason": ""}),
        "Rücklastschrift RE-2026-00001 (ohne Grund).",
    ),
    (
        Reason("refund_paid", {"end_to_end_id": "ER-00001"}),
        "Erstattung ER-00001 ausgezahlt.",
    ),
    (
        Reason("notice_exact", {"reference": "M-2026-000123"}),
        "Mahnung M-2026-000123, Betrag passt.",
    ),
    (
        Reason("notice_partial", {"reference": "M-2026-000123", "total": "129.00"}),
        "Mahnung M-2026-000123: Teilzahlung auf 129.00.",
    ),
    (
        Reason(
            "notice_overpaid",
            {"reference": "M-2026-000123", "total": "129.00", "other_payer": True},
        ),
        "Mahnung M-2026-000123: mehr als 129.00, Rest als Guthaben. "
        "Das Konto gehört einem anderen Kunden.",
    ),
    (
        Reason("number_exact", {"numbers": "RE-2026-00001"}),
        "RE-2026-00001 im Verwendungszweck, Betrag passt.",
    ),
    (
        Reason("number_partial", {"numbers": "RE-2026-00001", "rest": "69.00"}),
        "RE-2026-00001: Teilzahlung, 69.00 bleiben offen.",
    ),
    (
        Reason("overpaid", {"numbers": "RE-2026-00001", "credit": "31.00"}),
        "RE-2026-00001: Überzahlung, 31.00 als Guthaben.",
    ),
    (
        Reason("numbers_sum", {"numbers": "RE-2026-00001, RE-2026-00002"}),
        "RE-2026-00001, RE-2026-00002: Summe passt.",
    ),
    (
        Reason(
            "numbers_short",
            {
                "numbers": "RE-2026-00001, RE-2026-00002",
                "amount": "100.00",
                "total": "178.50",
                "other_payer": True,
                "mixed_customers": True,
                "conflict": True,
            },
        ),
        "RE-2026-00001, RE-2026-00002: 100.00 reicht nicht für alle (178.50). "
        "Das Konto gehört einem anderen Kunden. Rechnungen verschiedener Kunden genannt. "
        "Andere Hinweise nennen einen anderen Kunden.",
    ),
    (Reason("instalment_exact", {"reference": "RZ-00001-2"}), "Rate RZ-00001-2, Betrag passt."),
    (
        Reason("instalment_partial", {"reference": "RZ-00001-2", "rest": "10.00"}),
        "Rate RZ-00001-2: Teilzahlung, 10.00 bleiben offen.",
    ),
    (
        Reason("instalment_more", {"reference": "RZ-00001-2", "more": "5.00"}),
        "Rate RZ-00001-2: 5.00 mehr als die Rate.",
    ),
    (
        Reason("paid_number", {"number": "RE-2026-00002"}),
        "RE-2026-00002 ist schon bezahlt: als Guthaben des Kunden buchen?",
    ),
    (
        Reason("mandate_exact", {"number": "RE-2026-00001"}),
        "Mandat des Kunden, Betrag passt zu RE-2026-00001.",
    ),
    (
        Reason("mandate_ambiguous", {"count": 2, "amount": "119.00"}),
        "Mandat des Kunden; 2 Rechnungen über 119.00.",
    ),
    (Reason("mandate_all_open"), "Mandat des Kunden, Summe aller offenen Rechnungen."),
    (Reason("account_all_open"), "Konto des Kunden, Summe aller offenen Rechnungen."),
    (Reason("amount", {"number": "RE-2026-00001"}), "RE-2026-00001: Betrag passt."),
    (
        Reason(
            "amount",
            {"number": "RE-2026-00001", "account_known": True, "likeness": 86, "rivals": 2},
        ),
        "RE-2026-00001: Betrag passt, Konto bekannt, Name ähnlich (86%); "
        "2 Rechnungen kommen in Frage.",
    ),
    (
        Reason("amount", {"number": "RE-2026-00001", "likeness": 100, "conflict": True}),
        "RE-2026-00001: Betrag passt, Name ähnlich (100%). "
        "Andere Hinweise nennen einen anderen Kunden.",
    ),
    (
        Reason("account_credit"),
        "Konto des Kunden bekannt, keine passende Rechnung: Guthaben.",
    ),
    (
        Reason("name_credit", {"likeness": 93}),
        "Name ähnlich (93%), keine passende Rechnung: Guthaben?",
    ),
]


def test_every_code_has_its_german_sentence_unchanged():
    assert {reason.code for reason, _ in GERMAN} == reasons.CODES
    with translation.override("de"):
        for reason, sentence in GERMAN:
            assert reason.text() == sentence


def test_an_unknown_code_or_missing_parameters_show_the_code():
    assert reasons.render("gone_since") == "gone_since"
    assert reasons.render("number_exact", {}) == "number_exact"


def test_a_suggestion_stored_before_the_codes_shows_its_text_as_stored():
    assert reasons.of_suggestion({"reason": "Von Hand notiert"}) == "Von Hand notiert"
    assert reasons.of_suggestion({}) == ""


def test_likeness_is_shown_as_the_percent_matching_computed():
    assert [reasons.percent(x) for x in (0.5, 0.855, 0.8549, 1.0)] == [50, 86, 85, 100]


def test_an_import_stores_codes_and_no_sentences(business_customer, actor):
    first, second = finalized(business_customer, actor), finalized(business_customer, actor)
    named = f"{first.number}, {second.number}"
    outgoing = Entry(txs=(Tx("80.00", remittance="Miete", name="Vermieter"),), credit=False)
    import_on(camt([transfer("100.00", named), outgoing]), actor)
    waiting, outgoing = BankTransaction.objects.order_by("pk")
    (suggestion,) = waiting.suggestions
    assert "reason" not in suggestion
    assert (suggestion["reason_code"], suggestion["reason_params"]) == (
        "numbers_short",
        {"numbers": named, "amount": "100.00", "total": "238.00"},
    )
    assert (outgoing.note, outgoing.note_code, outgoing.note_params) == ("", "outgoing", {})
    with translation.override("de"):
        assert outgoing.note_text == "Ausgang (Zahlung an Dritte)."


# --- the data migration -------------------------------------------------------------------


def test_the_migration_reads_back_every_german_sentence():
    for reason, sentence in GERMAN:
        parse = migration.parse_note if reason.code in migration.NOTES else migration.parse_reason
        assert parse(sentence) == (reason.code, dict(reason.params)), sentence
        assert migration.german(reason.code, reason.params) == sentence
    assert migration.parse_reason("Kunde hat angerufen") is None
    assert migration.parse_note("Privatentnahme") is None


def _line(statement, n: int, **fields) -> BankTransaction:
    return BankTransaction.objects.create(
        statement=statement,
        checksum=f"migration-{n}",
        booking_date="2026-11-16",
        value_date="2026-11-16",
        amount=Decimal("119.00"),
        direction="credit",
        created_at="2026-11-16T09:00:00Z",
        **fields,
    )


@pytest.mark.django_db
def test_the_migration_turns_stored_sentences_into_codes_and_back(company):
    from faktura.banking.models import BankStatement

    statement = BankStatement.objects.create(
        account_identification="DE02120300000000202051",
        format="camt.053",
        file_sha256="0" * 64,
        imported_by="test",
        imported_at="2026-11-16T09:00:00Z",
    )
    stored = {
        "method": "amount_name",
        "confidence": "0.750",
        "customer": 1,
        "invoices": [{"id": 1, "number": "RE-2026-00001", "amount": "119.00"}],
        "credit": "0.00",
        "reason": "RE-2026-00001: Betrag passt, Konto bekannt; 2 Rechnungen kommen in Frage.",
    }
    own_words = {**stored, "reason": "Von Hand notiert"}
    waiting = _line(
        statement,
        1,
        state="unmatched",
        suggestions=[stored, own_words],
        note="Rücklastschrift, zu der Faktura keine Lastschrift findet: bitte prüfen.",
    )
    named = (
        "RE-2026-00001 im Verwendungszweck, Betrag passt. Das Konto gehört einem anderen Kunden."
    )
    matched = _line(
        statement, 2, state="matched", match_plan={"action": "book", **stored, "reason": named}
    )
    ignored = _line(statement, 3, state="ignored", note="Privatentnahme")
    before = {row.pk: (row.suggestions, row.match_plan, row.note) for row in (waiting, matched)}

    migration.forwards(apps, None)

    waiting.refresh_from_db()
    matched.refresh_from_db()
    ignored.refresh_from_db()
    coded, kept = waiting.suggestions
    assert "reason" not in coded
    assert (coded["reason_code"], coded["reason_params"]) == (
        "amount",
        {"number": "RE-2026-00001", "account_known": True, "rivals": 2},
    )
    assert kept == own_words
    assert (waiting.note, waiting.note_code, waiting.note_params) == ("", "return_unknown", {})
    assert (matched.match_plan["reason_code"], matched.match_plan["reason_params"]) == (
        "number_exact",
        {"numbers": "RE-2026-00001", "other_payer": True},
    )
    assert (ignored.note, ignored.note_code) == ("Privatentnahme", "")
    with translation.override("de"):
        assert reasons.of_suggestion(coded) == stored["reason"]
        assert waiting.note_text == before[waiting.pk][2]

    migration.backwards(apps, None)

    for row in (waiting, matched):
        row.refresh_from_db()
        assert (row.suggestions, row.match_plan, row.note, row.note_code) == (
            *before[row.pk],
            "",
        )


# --- the API ------------------------------------------------------------------------------


def test_the_api_gives_the_code_its_parameters_and_the_words(business_customer, actor):
    invoice = finalized(business_customer, actor)
    import_on(camt([transfer("119.00", "ohne Nummer")]), actor)
    client = api_client()
    with translation.override("de"):
        listed = client.get_json("/bank-transactions", state="unmatched").json()["data"]
    suggestion = next(line["suggestions"][0] for line in listed if line["suggestions"])
    assert (suggestion["reason_code"], suggestion["reason_params"]) == (
        "amount",
        {"number": invoice.number},
    )
    assert suggestion["reason"] == f"{invoice.number}: Betrag passt."


def test_an_english_reader_reads_every_reason_in_english():
    with translation.override("en"):
        for reason, sentence in GERMAN:
            english = reason.text()
            assert english != sentence
            assert not set("äöüÄÖÜß") & set(english), english
        assert Reason("paid_number", {"number": "RE-2026-00002"}).text() == (
            "RE-2026-00002 is paid already: book as the customer's credit?"
        )
        assert Reason(
            "amount",
            {"number": "RE-2026-00001", "account_known": True, "likeness": 86, "rivals": 2},
        ).adding("conflict").text() == (
            "RE-2026-00001: amount matches, account known, similar name (86%); "
            "2 invoices could be meant. Other hints name another customer."
        )
        assert Reason("return", {"end_to_end_id": "RE-2026-00001"}).text() == (
            "Returned debit RE-2026-00001 (no reason)."
        )


def test_the_api_speaks_the_language_asked_for(business_customer, actor):
    invoice = finalized(business_customer, actor)
    import_on(camt([transfer("119.00", "ohne Nummer")]), actor)
    client = api_client()
    with translation.override("de"):  # the request's English does not outlive it
        response = client.get(
            "/api/v1/bank-transactions", {"state": "unmatched"}, headers={"accept-language": "en"}
        )
    (line,) = response.json()["data"]
    assert line["suggestions"][0]["reason"] == f"{invoice.number}: amount matches."
    assert line["suggestions"][0]["reason_code"] == "amount"
