"""Portal pages reachable without signing in: sign-in by e-mail link, sign-out, § 312k."""

from __future__ import annotations

from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from faktura.core.errors import DomainError
from faktura.customers import portal
from faktura.web.portal import errors
from faktura.web.portal.forms import SignInForm

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """Ask for the billing e-mail address; the answer is the same whether it is known or
    not (no account enumeration)."""
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        portal.request_sign_in_link(
            email=form.cleaned_data["email"],
            sign_in_url=request.build_absolute_uri(reverse("portal:sign_in_link")),
        )
        return render(request, "portal/login_sent.html", {"email": form.cleaned_data["email"]})
    return render(request, "portal/login.html", {"form": form})


@require_http_methods(["GET", "POST"])
def sign_in_link(request: HttpRequest) -> HttpResponse:
    """The link from the sign-in mail. GET only shows a button, so that a mail scanner
    opening the link does not use it up; the POST signs in (and so voids the link)."""
    token = request.POST.get("sesame") or request.GET.get("sesame") or ""
    user = portal.user_for_sign_in_link(token, request)
    if user is None:
        return _invalid_link(request, expired_or_used=True)
    if request.method == "POST":
        auth_login(request, user, backend="sesame.backends.ModelBackend")
        return redirect("portal:home")
    return render(request, "portal/link.html", {"token": token, "field": "sesame"})


@require_http_methods(["GET", "POST"])
def document_link(request: HttpRequest) -> HttpResponse:
    """The link in a document's mail: signs in and opens that document (after a button,
    for the same reason as ``sign_in_link``; at once when already signed in as its
    customer)."""
    token = request.POST.get("t") or request.GET.get("t") or ""
    try:
        account, invoice_id = portal.sign_in_by_document_link(token=token)
    except DomainError as error:
        return _invalid_link(request, message=errors.message(error))
    target = reverse("portal:document", args=[invoice_id])
    if request.user.is_authenticated and request.user.pk == account.user_id:
        return redirect(target)
    if request.method == "POST":
        auth_login(request, account.user, backend=MODEL_BACKEND)
        return redirect(target)
    return render(request, "portal/link.html", {"token": token, "field": "t"})


def _invalid_link(
    request: HttpRequest, *, message: str = "", expired_or_used: bool = False
) -> HttpResponse:
    return render(
        request,
        "portal/link_invalid.html",
        {"message": message, "expired_or_used": expired_or_used},
        status=400,
    )


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    return render(request, "portal/logged_out.html")
