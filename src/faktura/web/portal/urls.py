from django.urls import path

from faktura.web.portal.views import (
    cancellation,
    home,
    mandates,
    payment_methods,
    public,
    subscriptions,
)

app_name = "portal"

urlpatterns = [
    path("", home.home, name="home"),
    path("anmelden/", public.login, name="login"),
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
