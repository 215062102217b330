from django.urls import path

from faktura.web.portal.views import (
    cancellation,
    contact,
    documents,
    home,
    mandates,
    notices,
    paying,
    payment_methods,
    public,
    statement,
    subscriptions,
)

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
    # § 312k BGB: without signing in.
    path("kuendigen/", cancellation.cancel_contract, name="cancel_contract"),
    path(
        "kuendigen/eingegangen/", cancellation.cancellation_received, name="cancellation_received"
    ),
    path("abonnements/", subscriptions.subscription_list, name="subscriptions"),
    path(
        "abonnements/<int:subscription_id>/aendern/",
        subscriptions.change,
        name="subscription_change",
    ),
    path(
        "abonnements/<int:subscription_id>/pausieren/",
        subscriptions.pause,
        name="subscription_pause",
    ),
    path(
        "abonnements/<int:subscription_id>/fortsetzen/",
        subscriptions.resume,
        name="subscription_resume",
    ),
    path(
        "abonnements/<int:subscription_id>/kuendigen/",
        subscriptions.cancel,
        name="subscription_cancel",
    ),
    path(
        "abonnements/<int:subscription_id>/kuendigung-zuruecknehmen/",
        subscriptions.undo_cancellation,
        name="subscription_undo_cancellation",
    ),
    path("lastschrift/", mandates.mandate_page, name="mandates"),
    path("lastschrift/erteilen/", mandates.grant, name="mandate_grant"),
    path("lastschrift/<int:mandate_id>/widerrufen/", mandates.revoke, name="mandate_revoke"),
    path("zahlungsart/", payment_methods.payment_methods, name="payment_methods"),
    path("zahlungsart/waehlen/", payment_methods.choose, name="payment_method_choose"),
    path("zahlungsart/karte/", payment_methods.add_card, name="payment_card_add"),
    path("zahlungsart/karte/fertig/", payment_methods.card_added, name="payment_card_added"),
]
