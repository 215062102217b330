"""The cancellation button of § 312k BGB: reachable from every page, without signing in.

Three steps, as the law describes them: the form, a confirmation page with the button
"Jetzt kündigen", and the page that shows the declaration as received (the mail follows
at once). Whether a customer or contract exists is never shown: every declaration ends
on the same page with what was entered.
"""

from __future__ import annotations

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from faktura.core.errors import InvalidInput
from faktura.customers.models import PortalAccount
from faktura.subscriptions import cancellation
from faktura.subscriptions.models import CancellationRequest
from faktura.web.portal.contract_errors import message
from faktura.web.portal.contract_forms import CancellationForm

SESSION_KEY = "portal_cancellation_request"
# At most this many submissions (each step counts) per address and window: enough for
# someone correcting typos, not for a script.
RATE_LIMIT = 12
RATE_WINDOW_SECONDS = 600


def _rate_limited(request: HttpRequest) -> bool:
    key = f"portal:cancel:{request.META.get('REMOTE_ADDR', '')}"
    cache.add(key, 0, RATE_WINDOW_SECONDS)
    try:
        return cache.incr(key) > RATE_LIMIT
    except ValueError:  # expired between add and incr
        cache.set(key, 1, RATE_WINDOW_SECONDS)
        return False


def _initial(request: HttpRequest) -> dict[str, str]:
    """A signed-in customer finds their own data filled in."""
    if not request.user.is_authenticated:
        return {}
    account = PortalAccount.objects.select_related("customer").filter(user_id=request.user.pk)
    found = account.first()
    if found is None:
        return {}
    customer = found.customer
    return {"name": customer.name, "customer_number": customer.number, "email": customer.email}


def _service_error(form: CancellationForm, error: InvalidInput) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, message(error))


@require_http_methods(["GET", "POST"])
def cancel_contract(request: HttpRequest) -> HttpResponse:
    """The form (GET), the confirmation page (POST), the declaration (POST, confirm)."""
    if request.method == "GET":
        form = CancellationForm(initial=_initial(request))
        return render(request, "portal/cancel_contract.html", {"form": form})
    if _rate_limited(request):
        return render(
            request,
            "portal/cancel_contract.html",
            {
                "form": CancellationForm(request.POST),
                "rate_limited": _(
                    "Sie haben in kurzer Zeit sehr viele Kündigungen abgeschickt. "
                    "Bitte warten Sie zehn Minuten und versuchen Sie es dann erneut."
                ),
            },
            status=429,
        )
    form = CancellationForm(request.POST)
    if request.POST.get("step") == "edit":
        return render(request, "portal/cancel_contract.html", {"form": form})
    if form.is_valid():
        try:
            declaration = cancellation.check_declaration(form.declaration())
            if request.POST.get("step") != "confirm":
                return render(
                    request,
                    "portal/cancel_contract_confirm.html",
                    {"form": form, "declaration": declaration},
                )
            declared = cancellation.declare_cancellation(declaration=declaration)
        except InvalidInput as error:
            _service_error(form, error)
        else:
            request.session[SESSION_KEY] = declared.pk
            return redirect("portal:cancellation_received")
    return render(request, "portal/cancel_contract.html", {"form": form}, status=422)


def cancellation_received(request: HttpRequest) -> HttpResponse:
    """What was declared and when: shown to whoever declared it in this browser."""
    pk = request.session.get(SESSION_KEY)
    declared = CancellationRequest.objects.filter(pk=pk).first() if pk else None
    if declared is None:
        return redirect("portal:cancel_contract")
    return render(request, "portal/cancellation_received.html", {"declared": declared})
