from django.contrib.auth import views as auth_views
from django.urls import path

from faktura.web.backoffice.views import (
    bank,
    customers,
    inbox,
    invoice_actions,
    invoice_detail,
    invoices,
    masterdata,
    masterdata_admin,
    masterdata_texts,
    reports,
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
    path("stammdaten/", masterdata.index, name="masterdata"),
    path("stammdaten/firma/", masterdata.company, name="md_company"),
    path("stammdaten/briefkopf/", masterdata.letterhead, name="md_letterhead"),
    path(
        "stammdaten/briefkopf/vorschau.pdf",
        masterdata.letterhead_preview,
        name="md_letterhead_preview",
    ),
    path("stammdaten/nummernkreise/", masterdata.number_ranges, name="md_numbers"),
    path("stammdaten/einstellungen/", masterdata.settings_page, name="md_settings"),
    path("stammdaten/e-mail-vorlagen/", masterdata_texts.mail_templates, name="md_mails"),
    path(
        "stammdaten/e-mail-vorlagen/<slug:event>/<slug:language>.html",
        masterdata_texts.mail_preview,
        name="md_mail_preview",
    ),
    path("stammdaten/mahnrichtlinie/", masterdata_texts.dunning_policy, name="md_dunning"),
    path("stammdaten/benutzer/", masterdata_admin.users, name="md_users"),
    path(
        "stammdaten/benutzer/<int:user_id>/rollen",
        masterdata_admin.user_roles,
        name="md_user_roles",
    ),
    path(
        "stammdaten/benutzer/<int:user_id>/deaktivieren",
        masterdata_admin.user_deactivate,
        name="md_user_deactivate",
    ),
    path("stammdaten/api-schluessel/", masterdata_admin.api_keys, name="md_api_keys"),
    path(
        "stammdaten/api-schluessel/<int:key_id>/widerrufen",
        masterdata_admin.api_key_revoke,
        name="md_api_key_revoke",
    ),
    path("stammdaten/webhooks/", masterdata_admin.webhook_endpoints, name="md_webhooks"),
    path(
        "stammdaten/webhooks/<int:endpoint_id>/aktiv",
        masterdata_admin.webhook_switch,
        name="md_webhook_switch",
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
