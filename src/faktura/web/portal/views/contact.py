"""The customer's billing address and e-mail addresses, changed by the customer."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from faktura.core.errors import DomainError
from faktura.customers.services import change_own_contact
from faktura.web.portal.access import customer_view
from faktura.web.portal.forms import ContactForm


@customer_view
def contact(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    form = ContactForm(request.POST or None, instance=customer)
    if request.method == "POST" and form.is_valid():
        try:
            change_own_contact(
                customer_id=customer.pk,
                actor=request.actor,  # type: ignore[attr-defined]
                **form.changes(),
            )
        except DomainError as error:
            field = error.field if error.field in form.fields else None
            # The service names the field first ("postcode: …"); the page shows it at the field.
            text = error.message.partition(": ")[2] if field else ""
            form.add_error(field, text or _("Die Angaben konnten nicht gespeichert werden."))
        else:
            messages.success(request, _("Ihre Kontaktdaten sind gespeichert."))
            return redirect("portal:contact")
    return render(request, "portal/contact.html", {"form": form, "customer": customer})
