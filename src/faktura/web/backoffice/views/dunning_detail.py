"""One notice with its fees and interest, each open one waivable with a reason. Each
action one service call; refusals come back as a message and change nothing."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from faktura.core import permissions
from faktura.core.errors import DomainError
from faktura.dunning import selectors
from faktura.dunning import services as dunning
from faktura.dunning.models import DunningFee
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import message
from faktura.web.backoffice.templatetags.faktura_format import euro

# --- a notice and its fees -------------------------------------------------------------------


@staff_view
def notice(request: HttpRequest, notice_id: int) -> HttpResponse:
    found = selectors.notice(notice_id)
    if found is None:
        raise Http404
    return render(
        request,
        "backoffice/dunning/notice.html",
        {
            "notice": found,
            "has_letter": hasattr(found, "letter"),
            "can_waive": permissions.allows(request.actor, "dunning.fee"),  # type: ignore[attr-defined]
        },
    )


@require_POST
@staff_view
def waive_fee(request: HttpRequest, fee_id: int) -> HttpResponse:
    """Waive an open fee, flat fee or interest period with a reason (the row stays)."""
    actor = request.actor  # type: ignore[attr-defined]
    place = DunningFee.objects.filter(pk=fee_id).values("notice_id", "customer_id").first()
    try:
        fee = dunning.waive_fee(fee_id=fee_id, reason=request.POST.get("reason", ""), actor=actor)
    except DomainError as error:
        messages.error(request, message(error))
    else:
        messages.success(
            request,
            gettext("Erlassen: %(kind)s über %(amount)s.")
            % {"kind": fee.get_kind_display(), "amount": euro(fee.amount)},
        )
    if place is None:
        return redirect("backoffice:dunning")
    if place["notice_id"] is not None:
        return redirect("backoffice:dunning_notice", place["notice_id"])
    return redirect("backoffice:customer", place["customer_id"])
