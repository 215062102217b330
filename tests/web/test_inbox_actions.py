"""Aufgaben: each item's action in place, posted by htmx; the answer replaces the row and
updates the counts (out of band); a role without the action sees none and a forged post
changes nothing."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group, User
from django_tasks_db.models import DBTaskResult

from faktura.banking import services as banking
from faktura.banking.models import BankTransaction
from faktura.core import clock
from faktura.core.actors import Actor
from faktura.invoicing.models import Status
from faktura.notifications.models import OutboxMessage
from faktura.payments.models import Dispute
from faktura.reporting import inbox
from faktura.scheduling.models import JobRun
from tests.banking.camt_builder import camt, transfer
from tests.invoicing.helpers import line, order
from tests.payments.helpers import finalized
from tests.web.test_inbox import failed_mail, nav_count

HTMX = {"HX-Request": "true"}
SYSTEM = Actor(label="system:shop", roles=frozenset({"accountant"}))


def _client(client, name: str, role: str):
    user = User.objects.create_user(name, password="geheim-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


def oob_count(html: str) -> int | None:
    found = re.search(
        r'<span class="badge count" id="inbox-count" hx-swap-oob="true"[^>]*>(\d+)<', html
    )
    if found:
        return int(found.group(1))
    assert '<span id="inbox-count" hx-swap-oob="true"></span>' in html
    return None


@pytest.fixture
def pending(company, business_customer):
    company.approval_for_manual_invoices = True
    company.save()
    draft = order(business_customer, SYSTEM, line(), source="backoffice")
    assert draft.status == Status.PENDING_APPROVAL
    return draft


def failed_run(job: str = "dunning-run") -> JobRun:
    now = clock.now()
    return JobRun.objects.create(
        job=job,
        due_at=now - dt.timedelta(hours=1),
        as_of=now.date(),
        state=JobRun.State.FAILED,
        attempts=3,
        worker_id="w1",
        started_at=now - dt.timedelta(hours=1),
        finished_at=now - dt.timedelta(minutes=59),
        error="boom",
    )


@pytest.mark.django_db
def test_approving_in_place_replaces_the_row_and_lowers_the_count(client, pending):
    approver = _client(client, "freigabe", "approver")
    failed_mail()
    page = approver.get("/aufgaben/").content.decode()
    assert nav_count(page) == 2
    row = page.split(f'data-item="approvals-{pending.pk}"')[1].split("</li>")[0]
    assert 'hx-post="/aufgaben/approvals/' in row
    assert 'data-action="approve"' in row
    assert 'data-action="retry"' not in page  # an approver may not resend mails

    answer = approver.post(
        f"/aufgaben/approvals/{pending.pk}/approve", headers=HTMX
    ).content.decode()
    assert "<html" not in answer
    assert f'id="item-approvals-{pending.pk}"' in answer
    assert "Die Rechnung ist freigegeben." in answer
    assert oob_count(answer) == 1
    assert '<span class="badge" id="count-approvals" hx-swap-oob="true">0</span>' in answer
    pending.refresh_from_db()
    assert pending.status == Status.APPROVED
    assert pending.approved_by == "user:freigabe"
    assert nav_count(approver.get("/").content.decode()) == 1


@pytest.mark.django_db
def test_a_rejection_without_reason_is_refused_in_german_and_changes_nothing(client, pending):
    approver = _client(client, "freigabe", "approver")
    answer = approver.post(
        f"/aufgaben/approvals/{pending.pk}/reject", {"text": "  "}, headers=HTMX
    ).content.decode()
    assert "Bitte geben Sie einen Grund an." in answer
    assert 'role="alert"' in answer
    assert 'data-action="reject"' in answer  # the row stays, with its actions
    assert oob_count(answer) == 1
    pending.refresh_from_db()
    assert pending.status == Status.PENDING_APPROVAL

    approver.post(
        f"/aufgaben/approvals/{pending.pk}/reject", {"text": "Preis falsch"}, headers=HTMX
    )
    pending.refresh_from_db()
    assert pending.status == Status.REJECTED


@pytest.mark.django_db
def test_a_failed_mail_is_sent_again(client, company):
    accountant = _client(client, "buchhaltung", "accountant")
    mail = failed_mail()
    other = failed_mail("Mahnung M-2026-000002")
    before = DBTaskResult.objects.count()
    answer = accountant.post(
        f"/aufgaben/failed_mails/{mail.pk}/retry", headers=HTMX
    ).content.decode()
    assert "Die E-Mail ist neu eingereiht." in answer
    assert oob_count(answer) == 1
    mail.refresh_from_db()
    assert (mail.state, mail.attempts) == (OutboxMessage.State.QUEUED, 0)
    assert DBTaskResult.objects.count() == before + 1
    again = accountant.post(f"/aufgaben/failed_mails/{mail.pk}/retry", headers=HTMX)
    assert "Die E-Mail ist nicht (mehr) gescheitert." in again.content.decode()
    assert DBTaskResult.objects.count() == before + 1
    other.refresh_from_db()
    assert other.state == OutboxMessage.State.FAILED


@pytest.mark.django_db
def test_a_failed_job_is_run_again_by_the_next_tick(client, company):
    accountant = _client(client, "buchhaltung", "accountant")
    run = failed_run()
    answer = accountant.post(f"/aufgaben/failed_jobs/{run.pk}/retry", headers=HTMX).content.decode()
    assert "beim nächsten Takt des Workers erneut ausgeführt" in answer
    assert "Wiederholung angefordert" in answer  # still listed until a worker has run it
    run.refresh_from_db()
    assert run.next_attempt_at == clock.now()
    assert run.retry_pending


@pytest.mark.django_db
def test_a_bank_line_is_ignored_in_place_or_assigned_on_its_page(client, company, actor):
    accountant = _client(client, "buchhaltung", "accountant")
    banking.import_statement(
        data=camt([transfer("42.00", "Spende", name="Unbekannt", booked=dt.date(2026, 11, 16))]),
        filename="a.xml",
        actor=actor,
    )
    line_ = BankTransaction.objects.get()
    page = accountant.get("/aufgaben/").content.decode()
    row = page.split(f'data-item="bank-{line_.pk}"')[1].split("</li>")[0]
    assert f'href="/bank/{line_.pk}/"' in row  # the split assignment has its own page
    refused = accountant.post(
        f"/aufgaben/bank/{line_.pk}/ignore", {"text": ""}, headers=HTMX
    ).content.decode()
    assert "Bitte geben Sie einen Grund an." in refused
    line_.refresh_from_db()
    assert line_.state == BankTransaction.State.UNMATCHED
    done = accountant.post(
        f"/aufgaben/bank/{line_.pk}/ignore", {"text": "Spende"}, headers=HTMX
    ).content.decode()
    assert 'class="done"' in done
    assert oob_count(done) is None
    line_.refresh_from_db()
    assert line_.state == BankTransaction.State.IGNORED


@pytest.mark.django_db
def test_a_returned_debit_is_acknowledged(client, business_customer, actor):
    accountant = _client(client, "buchhaltung", "accountant")
    invoice = finalized(business_customer, actor)
    dispute = Dispute.objects.create(
        invoice=invoice, customer=business_customer, opened_at=clock.now(), opened_by="test"
    )
    answer = accountant.post(
        f"/aufgaben/disputes/{dispute.pk}/clear", {"text": "Kunde hat angerufen"}, headers=HTMX
    ).content.decode()
    assert "Die Rückbuchung ist geklärt" in answer
    dispute.refresh_from_db()
    assert dispute.cleared_by == "user:buchhaltung"
    assert dispute.note == "Kunde hat angerufen"
    assert inbox.counts()["disputes"] == 0


@pytest.mark.django_db
def test_without_javascript_the_action_comes_back_as_a_message(client, company):
    accountant = _client(client, "buchhaltung", "accountant")
    mail = failed_mail()
    response = accountant.post(f"/aufgaben/failed_mails/{mail.pk}/retry", follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Die E-Mail ist neu eingereiht."]
    assert nav_count(response.content.decode()) is None


@pytest.mark.django_db
def test_a_viewer_sees_no_action_and_a_forged_post_changes_nothing(client, pending):
    viewer = _client(client, "ansicht", "viewer")
    mail = failed_mail()
    run = failed_run()
    page = viewer.get("/aufgaben/").content.decode()
    assert "data-action=" not in page
    assert "hx-post" not in page
    for url, refusal in (
        (f"/aufgaben/approvals/{pending.pk}/approve", "Freigeben dürfen nur Personen"),
        (f"/aufgaben/failed_mails/{mail.pk}/retry", "Das darf Ihre Rolle nicht."),
        (f"/aufgaben/failed_jobs/{run.pk}/retry", "Das darf Ihre Rolle nicht."),
    ):
        answer = viewer.post(url, headers=HTMX).content.decode()
        assert refusal in answer
        assert 'role="alert"' in answer
        assert "data-action=" not in answer
        assert oob_count(answer) == 3
    pending.refresh_from_db()
    mail.refresh_from_db()
    run.refresh_from_db()
    assert pending.status == Status.PENDING_APPROVAL
    assert mail.state == OutboxMessage.State.FAILED
    assert run.next_attempt_at is None
    assert viewer.post(f"/aufgaben/unbekannt/{mail.pk}/retry").status_code == 404
    assert viewer.post(f"/aufgaben/failed_mails/{mail.pk}/loeschen").status_code == 404
    assert viewer.get(f"/aufgaben/failed_mails/{mail.pk}/retry").status_code == 405


@pytest.mark.django_db
def test_the_inbox_is_bounded_in_queries(client, company, django_assert_max_num_queries):
    accountant = _client(client, "buchhaltung", "accountant")
    for n in range(12):
        failed_mail(f"Mahnung {n}")
    with django_assert_max_num_queries(45):
        html = accountant.get("/aufgaben/").content.decode()
    assert html.count('data-item="failed_mails-') == 10


@pytest.mark.django_db
def test_a_dunning_proposal_is_approved_and_sent(client, business_customer, actor):
    from faktura.dunning.models import DunningLevel, DunningNotice
    from tests.dunning.helpers import overdue, run

    DunningLevel.objects.filter(policy__name="Unternehmen").update(review_required=True)
    overdue(business_customer, actor, due=dt.date(2026, 10, 1))
    run(dt.date(2026, 10, 9))
    notice = DunningNotice.objects.get()
    assert notice.status == DunningNotice.Status.PROPOSED
    approver = _client(client, "freigabe", "approver")
    page = approver.get("/aufgaben/").content.decode()
    row = page.split(f'data-item="dunning_proposals-{notice.pk}"')[1].split("</li>")[0]
    assert f'href="/kunden/{business_customer.pk}/"' in row
    answer = approver.post(
        f"/aufgaben/dunning_proposals/{notice.pk}/approve", headers=HTMX
    ).content.decode()
    assert "Die Mahnung ist freigegeben und wird versendet." in answer
    assert '<span class="badge" id="count-dunning_proposals" hx-swap-oob="true">0</span>' in answer
    notice.refresh_from_db()
    assert notice.status == DunningNotice.Status.SENT
    assert notice.approved_by == "user:freigabe"
    again = approver.post(f"/aufgaben/dunning_proposals/{notice.pk}/approve", headers=HTMX)
    assert "Über diesen Vorschlag wurde schon entschieden." in again.content.decode()
