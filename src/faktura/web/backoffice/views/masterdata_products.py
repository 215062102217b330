"""Stammdaten › Artikel: the products the hand-made draft offers, a new one, and changes.

The form shows the model's own checks at every field at once (unique SKU, price ≥ 0 with up
to four decimals, unit code, printable text); ``catalog.services`` decides and saves, and
its refusals appear beside the field they name. Only active tax rates can be chosen. A role
without ``product.change`` sees a product's values without a save button; the new-product
page is refused to a role without ``product.create``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from faktura.catalog import services
from faktura.catalog.models import Product, TaxRate
from faktura.core import permissions
from faktura.core.errors import DomainError
from faktura.web.backoffice.access import staff_view
from faktura.web.backoffice.errors import message
from faktura.web.backoffice.views.masterdata import page, read_only

PER_PAGE = 50


class TaxRateChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        rate = f"{obj.rate.normalize():f}"
        return f"{obj.name} ({rate} %)"


class ProductForm(forms.ModelForm):
    tax_rate = TaxRateChoice(queryset=TaxRate.objects.none(), label=_("Steuersatz"))

    class Meta:
        model = Product
        fields = [
            "sku",
            "name",
            "description",
            "kind",
            "unit_code",
            "price_mode",
            "unit_price",
            "tax_rate",
            "track_stock",
            "low_stock_threshold",
            "active",
        ]
        localized_fields = ["unit_price", "low_stock_threshold"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The active rates; a product keeps showing its own rate if it was deactivated.
        rates = Q(active=True)
        if self.instance.tax_rate_id is not None:
            rates |= Q(pk=self.instance.tax_rate_id)
        self.fields["tax_rate"].queryset = TaxRate.objects.filter(rates).order_by("-rate", "code")  # type: ignore[attr-defined]
        if not self.is_bound and self.instance.pk is not None:
            # 12.5000 as 12,50: the four decimals only where the price has them.
            price = self.instance.unit_price
            cents = price.quantize(Decimal("0.01"))
            self.initial["unit_price"] = cents if cents == price else price.normalize()
            if self.instance.low_stock_threshold is not None:
                self.initial["low_stock_threshold"] = self.instance.low_stock_threshold.normalize()


class NewProductForm(ProductForm):
    class Meta(ProductForm.Meta):
        fields = [*ProductForm.Meta.fields, "stock_level"]
        localized_fields = [*ProductForm.Meta.localized_fields, "stock_level"]
        labels = {"stock_level": _("Anfangsbestand")}
        help_texts = {"stock_level": _("Nur bei Bestandsführung; danach ändern ihn Rechnungen.")}


def _refused(request: HttpRequest, form: forms.BaseForm, error: DomainError) -> None:
    """The service's refusal beside the field it names, else above the form."""
    if error.field and error.field in form.fields:
        form.add_error(error.field, message(error))
    else:
        messages.error(request, message(error))


@staff_view
def product_list(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "").strip()[:100]
    products = Product.objects.select_related("tax_rate").order_by("-active", "sku")
    if text:
        products = products.filter(Q(sku__icontains=text) | Q(name__icontains=text))
    return page(
        request,
        "products.html",
        {
            "products": Paginator(products, PER_PAGE).get_page(request.GET.get("page")),
            "q": text,
            "can_create": permissions.allows(request.actor, "product.create"),  # type: ignore[attr-defined]
        },
    )


@staff_view
def product_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    if not permissions.allows(actor, "product.create"):
        raise PermissionDenied  # a page that is one action; the service refuses it anyway
    form = NewProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.create_product(actor=actor, **form.cleaned_data)
        except DomainError as error:
            _refused(request, form, error)
        else:
            messages.success(
                request, gettext("Der Artikel %(sku)s ist angelegt.") % {"sku": product.sku}
            )
            return redirect("backoffice:md_products")
    return page(request, "product_form.html", {"form": form, "product": None, "can_save": True})


@staff_view
def product_edit(request: HttpRequest, product_id: int) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    product = Product.objects.select_related("tax_rate").filter(pk=product_id).first()
    if product is None:
        raise Http404
    can_save = permissions.allows(actor, "product.change")
    # The form works on its own unsaved copy; only the service writes.
    form = ProductForm(request.POST or None, instance=Product.objects.get(pk=product_id))
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            saved = services.update_product(product_id=product_id, actor=actor, **changes)
        except DomainError as error:
            _refused(request, form, error)
        else:
            messages.success(
                request, gettext("Der Artikel %(sku)s ist gespeichert.") % {"sku": saved.sku}
            )
            return redirect("backoffice:md_products")
    elif request.method != "POST" and not can_save:
        read_only(form)
    return page(
        request, "product_form.html", {"form": form, "product": product, "can_save": can_save}
    )
