"""The portal's forms: they parse what the customer typed; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from faktura.customers.models import Customer
from faktura.customers.services import CONTACT_FIELDS


class SignInForm(forms.Form):
    email = forms.EmailField(
        label=_("E-Mail-Adresse"),
        max_length=254,
        error_messages={
            "required": _("Bitte geben Sie Ihre E-Mail-Adresse ein."),
            "invalid": _("Bitte geben Sie eine gültige E-Mail-Adresse ein, z. B. name@firma.de."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class ContactForm(forms.ModelForm):
    """Billing address and e-mail addresses; the model's validation runs in the service
    (``customers.services.change_own_contact``), not here."""

    class Meta:
        model = Customer
        fields = CONTACT_FIELDS
        widgets = {
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "street": forms.TextInput(attrs={"autocomplete": "address-line1"}),
            "postcode": forms.TextInput(attrs={"autocomplete": "postal-code"}),
            "city": forms.TextInput(attrs={"autocomplete": "address-level2"}),
            "country": forms.TextInput(attrs={"autocomplete": "country", "size": 3}),
            "contact_name": forms.TextInput(attrs={"autocomplete": "name"}),
        }
        help_texts = {
            "country": _("Ländercode mit zwei Buchstaben, z. B. DE, AT, CH."),
            "email": _("An diese Adresse senden wir Rechnungen und Anmeldelinks."),
        }

    def _post_clean(self) -> None:
        """No model validation here: the service validates, under its lock."""

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in CONTACT_FIELDS}
