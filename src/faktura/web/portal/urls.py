from django.urls import path

from faktura.web.portal.views import contact, documents, home, notices, paying, public, statement

app_name = "portal"

urlpatterns = [
    path("", home.home, name="home"),
    path("anmelden/", public.login, name="login"),
    path("anmelden/link/", public.sign_in_link, name="sign_in_link"),
    path("dokument-oeffnen/", public.document_link, name="document_link"),
    path("abmelden/", public.logout, name="logout"),
    path("rechnungen/<int:invoice_id>/", documents.document, name="document"),
    path("rechnungen/<int:invoice_id>/pdf", documents.document_pdf, name="document_pdf"),
    path("rechnungen/<int:invoice_id>/xml", documents.document_xml, name="document_xml"),
    path("rechnungen/<int:invoice_id>/bezahlen/", paying.pay, name="pay"),
    path("rechnungen/<int:invoice_id>/girocode.svg", paying.girocode, name="girocode"),
    path("rechnungen/<int:invoice_id>/online-bezahlen", paying.pay_online, name="pay_online"),
    path("mahnungen/", notices.notices, name="notices"),
    path("mahnungen/<int:notice_id>/pdf", notices.notice_pdf, name="notice_pdf"),
    path("kontoauszug/", statement.statement, name="statement"),
    path("kontoauszug/pdf", statement.statement_pdf, name="statement_pdf"),
    path("kontaktdaten/", contact.contact, name="contact"),
    path("kuendigen/", public.cancel_contract, name="cancel_contract"),
]
