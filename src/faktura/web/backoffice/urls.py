from django.contrib.auth import views as auth_views
from django.urls import path

from faktura.web.backoffice.views import (
    bank,
    customers,
    inbox,
    invoice_actions,
    invoice_detail,
    invoices,
    reports,
    security,
    start,
)

app_name = "backoffice"

urlpatterns = [
    path("", start.start_page, name="start"),
    path("aufgaben/", inbox.inbox_page, name="inbox"),
    path("rechnungen/", invoices.invoice_list, name="invoices"),
    path("kunden/", customers.customer_list, name="customers"),
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
    path("anmelden/code/", security.verify, name="verify"),
    path("zwei-faktor/", security.two_factor, name="two_factor"),
]
