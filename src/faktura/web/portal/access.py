"""Who may enter the portal: a signed-in user with a portal account, acting as its
customer and reaching nothing of another customer."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse

from faktura.core.actors import Actor
from faktura.customers.models import PortalAccount


def customer_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Sets ``request.customer`` and ``request.actor`` (``Actor.for_customer``); anyone
    else is sent to the portal's sign-in page, a staff user without a portal account
    gets 404 (the portal shows customers' own data only)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("portal:login"))
        account = (
            PortalAccount.objects.select_related("customer").filter(user_id=request.user.pk).first()
        )
        if account is None:
            raise Http404
        customer = account.customer
        request.customer = customer  # type: ignore[attr-defined]
        request.actor = Actor.for_customer(customer.pk, customer.number)  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper
