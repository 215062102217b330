"""Signing in to the customer portal: one portal account per customer, links by e-mail.

Two kinds of link sign a customer in, and neither needs a password:

* the link a customer asks for on the portal's sign-in page (django-sesame, scope
  ``portal``): sent only to the customer's billing address, valid for ``SESAME_MAX_AGE``
  and once (``SESAME_ONE_TIME``: signing in voids it and every older link);
* the link in the mail of each document: signed by the server (``SECRET_KEY``), names the
  customer and the document, valid for ``FAKTURA_PORTAL_INVOICE_LINK_DAYS`` and any number
  of times, so the mail keeps working until the document is long paid. It is made when the
  mail is composed, before a portal account need exist.

The portal account (a user without a staff role) is created on first use, audited in the
customer's chain. A deactivated portal user signs in with no link.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.urls import reverse

from faktura.core import audit, clock, permissions
from faktura.core.actors import Actor
from faktura.core.errors import InvalidInput, NotFound, StateConflict
from faktura.customers.models import Customer, PortalAccount

logger = logging.getLogger(__name__)

PORTAL_ACTOR = Actor.system("portal")
# The sesame scope of requested links: a token made for anything else does not sign in here.
SIGN_IN_SCOPE = "portal"
_DOCUMENT_LINK_SALT = "faktura.portal.document-link"
# At most this many requested links per customer in this window: the sign-in page is open
# to anyone, and must not become a way to flood a customer's mailbox.
SIGN_IN_LINKS_PER_WINDOW = 3
SIGN_IN_LINK_WINDOW = dt.timedelta(minutes=15)


def open_portal_account(*, customer_id: int, actor: Actor) -> PortalAccount:
    """Return the customer's portal account; create it (user without staff role) on first use.

    Locks the customer's account; audited as ``portal_account.created``.
    Raises NotFound customer_not_found; PermissionRefused without ``portal.open_account``.
    """
    permissions.require(actor, "portal.open_account")
    with transaction.atomic():
        customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
        if customer is None:
            raise NotFound(f"Customer {customer_id} does not exist.", code="customer_not_found")
        account = (
            PortalAccount.objects.select_related("user", "customer")
            .filter(customer=customer)
            .order_by("pk")
            .first()
        )
        if account is not None:
            return account
        user_model = get_user_model()
        username = f"portal-{customer.number}"
        if user_model._default_manager.filter(username=username).exists():
            username = f"portal-{customer.number}-{customer.pk}"
        user = user_model(username=username, email=customer.email, is_staff=False)
        user.set_unusable_password()  # signs in by link only
        user.save()
        account = PortalAccount.objects.create(user=user, customer=customer)
        audit.record(
            chain=audit.customer_chain(customer.pk),
            actor=actor,
            action="portal_account.created",
            object_type="customer",
            object_id=customer.pk,
            data={"number": customer.number, "user": username},
        )
    return account


def request_sign_in_link(*, email: str, sign_in_url: str) -> int:
    """Mail a sign-in link to every customer whose billing address is ``email``.

    ``sign_in_url`` is the absolute address of the portal's link page; the token is
    appended. Returns how many mails were queued: the front door must not tell (no
    account enumeration). Each mail is queued in the transaction that audits it; more
    than SIGN_IN_LINKS_PER_WINDOW per customer within SIGN_IN_LINK_WINDOW are not sent.
    """
    from sesame.utils import get_token

    address = email.strip()
    if not address:
        return 0
    sent = 0
    for customer_id in (
        Customer.objects.filter(email__iexact=address).order_by("pk").values_list("pk", flat=True)
    ):
        account = open_portal_account(customer_id=customer_id, actor=PORTAL_ACTOR)
        if not account.user.is_active:
            continue
        token = get_token(account.user, scope=SIGN_IN_SCOPE)
        link = f"{sign_in_url}?{urlencode({'sesame': token})}"
        if _queue_sign_in_mail(customer_id=customer_id, link=link):
            sent += 1
    return sent


def _queue_sign_in_mail(*, customer_id: int, link: str) -> bool:
    from faktura.core.models import AuditEntry
    from faktura.notifications import customer_mail, mail
    from faktura.notifications import services as outbox

    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        if not customer.email:
            return False
        recent = AuditEntry.objects.filter(
            action="portal.sign_in_link_sent",
            object_type="customer",
            object_id=str(customer.pk),
            created_at__gte=clock.now() - SIGN_IN_LINK_WINDOW,
        ).count()
        if recent >= SIGN_IN_LINKS_PER_WINDOW:
            logger.warning("portal: sign-in links for %s held back (too many)", customer.number)
            return False
        ctx: dict[str, Any] = {
            **customer_mail.base_context(customer),
            "number": customer.number,
            "link": link,
            "minutes": int(settings.SESAME_MAX_AGE) // 60,
        }
        # To the billing address only, never to the copies: the link signs in.
        message = customer_mail.outbox_message(
            mail.render("portal_sign_in", ctx),
            seller=ctx["seller"],
            to=[customer.email],
            cc=[],
            actor=PORTAL_ACTOR,
        )
        outbox.queue_messages_locked([message])
        audit.record(
            chain=audit.customer_chain(customer.pk),
            actor=PORTAL_ACTOR,
            action="portal.sign_in_link_sent",
            object_type="customer",
            object_id=customer.pk,
            data={"to": customer.email, "message": message.pk},
        )
    return True


def user_for_sign_in_link(token: str, request: Any = None) -> Any | None:
    """The portal user a requested link signs in, or None (expired, used, forged, not a
    portal user). Does not void the link: signing in does (``SESAME_ONE_TIME``).

    Checked through ``authenticate`` with the request, so that the login throttling
    (django-axes) counts a forged or used link against the client like a wrong password."""
    from django.contrib.auth import authenticate

    if not token:
        return None
    user = authenticate(request, sesame=token, scope=SIGN_IN_SCOPE)
    if user is None or not PortalAccount.objects.filter(user=user).exists():
        return None
    return user


# --------------------------------------------------------------------------- document links


def document_link(*, customer_id: int, invoice_id: int) -> str:
    """The absolute link in a document's mail that signs in and opens the document, valid
    for ``FAKTURA_PORTAL_INVOICE_LINK_DAYS``; "" without ``FAKTURA_PORTAL_URL``. No database."""
    base = str(getattr(settings, "FAKTURA_PORTAL_URL", "") or "").strip()
    if not base:
        return ""
    expires = clock.now() + dt.timedelta(days=settings.FAKTURA_PORTAL_INVOICE_LINK_DAYS)
    token = signing.dumps(
        {"c": customer_id, "i": invoice_id, "x": int(expires.timestamp())},
        salt=_DOCUMENT_LINK_SALT,
    )
    # The link page relative to the portal's root, so that FAKTURA_PORTAL_URL names the root.
    path = reverse("portal:document_link").removeprefix(reverse("portal:home"))
    return f"{base.rstrip('/')}/{path}?{urlencode({'t': token})}"


def sign_in_by_document_link(*, token: str) -> tuple[PortalAccount, int]:
    """The portal account a document link signs in (opened on first use) and the document.

    Raises InvalidInput portal_link_invalid (forged, altered, the document not the
    customer's), StateConflict portal_link_expired, StateConflict portal_account_disabled.
    """
    from faktura.invoicing.models import Invoice, Status

    try:
        data = signing.loads(token, salt=_DOCUMENT_LINK_SALT)
    except signing.BadSignature:
        raise InvalidInput("The portal link is not valid.", code="portal_link_invalid") from None
    if not (
        isinstance(data, dict) and all(isinstance(data.get(key), int) for key in ("c", "i", "x"))
    ):
        raise InvalidInput("The portal link is not valid.", code="portal_link_invalid")
    if clock.now().timestamp() > data["x"]:
        raise StateConflict("The portal link has expired.", code="portal_link_expired")
    if not Invoice.objects.filter(
        pk=data["i"], customer_id=data["c"], status=Status.FINALIZED
    ).exists():
        raise InvalidInput("The portal link is not valid.", code="portal_link_invalid")
    account = open_portal_account(customer_id=data["c"], actor=PORTAL_ACTOR)
    if not account.user.is_active:
        raise StateConflict(
            "The customer's portal access is switched off.", code="portal_account_disabled"
        )
    return account, data["i"]
