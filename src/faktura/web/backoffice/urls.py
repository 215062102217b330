from django.contrib.auth import views as auth_views
from django.urls import path

from faktura.web.backoffice.views import (
    bank,
    customers,
    dunning,
    inbox,
    invoice_actions,
    invoice_detail,
    invoices,
    payments,
    reports,
    start,
    subscriptions,
)

app_name = "backoffice"

urlpatterns = [
    path("", start.start_page, name="start"),
    path("aufgaben/", inbox.inbox_page, name="inbox"),
    path("rechnungen/", invoices.invoice_list, name="invoices"),
    path("kunden/", customers.customer_list, name="customers"),
    path("abos/", subscriptions.subscription_list, name="subscriptions"),
    path("abos/tarife/", subscriptions.plan_list, name="plans"),
    path("abos/<int:subscription_id>/", subscriptions.subscription_detail, name="subscription"),
    path(
        "abos/<int:subscription_id>/aendern",
        subscriptions.change,
        name="subscription_change",
    ),
    path("abos/<int:subscription_id>/pausieren", subscriptions.pause, name="subscription_pause"),
    path(
        "abos/<int:subscription_id>/fortsetzen",
        subscriptions.resume,
        name="subscription_resume",
    ),
    path("abos/<int:subscription_id>/kuendigen", subscriptions.cancel, name="subscription_cancel"),
    path(
        "abos/<int:subscription_id>/beenden",
        subscriptions.terminate,
        name="subscription_terminate",
    ),
    path("zahlungen/", payments.payment_list, name="payments"),
    path("zahlungen/ruecklastschriften/", payments.return_list, name="returns"),
    path("zahlungen/<int:payment_id>/", payments.payment_detail, name="payment"),
    path("zahlungen/<int:payment_id>/zuordnen", payments.allocate, name="payment_allocate"),
    path("zahlungen/<int:payment_id>/erstatten", payments.refund, name="payment_refund"),
    path(
        "zahlungen/anfragen/<int:request_id>/bestaetigen",
        payments.confirm_request,
        name="payment_request_confirm",
    ),
    path(
        "zahlungen/anfragen/<int:request_id>/ablehnen",
        payments.reject_request,
        name="payment_request_reject",
    ),
    path(
        "zahlungen/erstattungen/<int:refund_id>/freigeben",
        payments.approve_refund,
        name="refund_approve",
    ),
    path(
        "zahlungen/erstattungen/<int:refund_id>/ablehnen",
        payments.reject_refund,
        name="refund_reject",
    ),
    path("mahnwesen/", dunning.overview, name="dunning"),
    path("mahnwesen/mahnungen/", dunning.notice_list, name="dunning_notices"),
    path("mahnwesen/mahnungen/<int:notice_id>/pdf", dunning.notice_letter, name="dunning_letter"),
    path("mahnwesen/vorschlaege", dunning.decide_proposals, name="dunning_proposals"),
    path("mahnwesen/lauf", dunning.start_run, name="dunning_run"),
    path("mahnwesen/sperre", dunning.dunning_block, name="dunning_block"),
    path(
        "mahnwesen/inkasso/<int:case_id>/freigeben",
        dunning.approve_case,
        name="collection_approve",
    ),
    path(
        "mahnwesen/inkasso/<int:case_id>/abschliessen",
        dunning.close_case,
        name="collection_close",
    ),
    path("mahnwesen/inkasso/export", dunning.export_cases, name="collection_export"),
    path(
        "mahnwesen/inkasso/export/<int:export_id>.<str:file_format>",
        dunning.export_file,
        name="collection_export_file",
    ),
    path("bank/", bank.bank_page, name="bank"),
    path("berichte/", reports.reports_page, name="reports"),
    path("berichte/<slug:report>/", reports.reports_page, name="report"),
    path("berichte/<slug:report>.<str:file_format>", reports.report_file, name="report_file"),
    path("bank/<int:line_id>/", bank.bank_line, name="bank_line"),
    path("kunden/<int:customer_id>/", customers.customer_detail, name="customer"),
    path("rechnungen/<int:invoice_id>/", invoice_detail.invoice_detail, name="invoice"),
    path("rechnungen/<int:invoice_id>/pdf", invoice_detail.invoice_pdf, name="invoice_pdf"),
    path("rechnungen/<int:invoice_id>/xml", invoice_detail.invoice_xml, name="invoice_xml"),
    path("rechnungen/<int:invoice_id>/freigeben", invoice_actions.approve, name="invoice_approve"),
    path("rechnungen/<int:invoice_id>/ablehnen", invoice_actions.reject, name="invoice_reject"),
    path(
        "rechnungen/<int:invoice_id>/festschreiben",
        invoice_actions.finalize,
        name="invoice_finalize",
    ),
    path("rechnungen/<int:invoice_id>/senden", invoice_actions.resend, name="invoice_resend"),
    path("rechnungen/<int:invoice_id>/stornieren", invoice_actions.cancel, name="invoice_cancel"),
    path(
        "rechnungen/<int:invoice_id>/zahlung",
        invoice_actions.record_payment,
        name="invoice_payment",
    ),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="backoffice/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
