"""The forms of the contract pages: they parse input, the services decide."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from faktura.subscriptions.cancellation import Declaration
from faktura.subscriptions.models import CancellationRequest

ASAP, ON_DATE = "asap", "date"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class CancellationForm(forms.Form):
    """The cancellation button's form (§ 312k (2) BGB): who, which contract, how, when."""

    name = forms.CharField(
        label=_("Vor- und Nachname oder Firma"),
        max_length=200,
        error_messages={"required": _("Bitte geben Sie Ihren Namen an.")},
    )
    customer_number = forms.CharField(
        label=_("Kundennummer (falls zur Hand)"), max_length=30, required=False
    )
    email = forms.EmailField(
        label=_("E-Mail-Adresse"),
        help_text=_("An diese Adresse schicken wir die Eingangsbestätigung."),
        error_messages={
            "required": _(
                "Bitte geben Sie Ihre E-Mail-Adresse an, damit wir die Kündigung bestätigen können."
            ),
            "invalid": _("Bitte geben Sie eine gültige E-Mail-Adresse an."),
        },
    )
    contract = forms.CharField(
        label=_("Vertrag, den Sie kündigen"),
        help_text=_("Zum Beispiel der Tarif oder die Abo-Nummer. Leer: Ihr einziger Vertrag."),
        max_length=200,
        required=False,
    )
    kind = forms.ChoiceField(
        label=_("Art der Kündigung"),
        choices=[
            (CancellationRequest.Kind.ORDINARY, _("Ordentliche Kündigung")),
            (CancellationRequest.Kind.EXTRAORDINARY, _("Außerordentliche (fristlose) Kündigung")),
        ],
        initial=CancellationRequest.Kind.ORDINARY,
        widget=forms.RadioSelect,
        error_messages={"required": _("Bitte wählen Sie die Art der Kündigung.")},
    )
    reason = forms.CharField(
        label=_("Kündigungsgrund"),
        help_text=_("Bei einer außerordentlichen Kündigung erforderlich."),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    when = forms.ChoiceField(
        label=_("Zu wann kündigen Sie?"),
        choices=[(ASAP, _("Zum nächstmöglichen Zeitpunkt")), (ON_DATE, _("Zu einem Datum"))],
        initial=ASAP,
        widget=forms.RadioSelect,
        error_messages={"required": _("Bitte wählen Sie, zu wann Sie kündigen.")},
    )
    desired_end = forms.DateField(
        label=_("Gewünschtes Vertragsende"),
        required=False,
        widget=DateInput(),
        error_messages={"invalid": _("Bitte geben Sie ein Datum an.")},
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("when") == ON_DATE and not data.get("desired_end"):
            self.add_error("desired_end", _("Bitte geben Sie das gewünschte Datum an."))
        return data

    def declaration(self) -> Declaration:
        data = self.cleaned_data
        desired: dt.date | None = data.get("desired_end") if data.get("when") == ON_DATE else None
        return Declaration(
            name=data["name"],
            email=data["email"],
            customer_number=data.get("customer_number", ""),
            contract=data.get("contract", ""),
            kind=data["kind"],
            reason=data.get("reason", ""),
            desired_end=desired,
        )


class ChangeForm(forms.Form):
    plan = forms.TypedChoiceField(label=_("Tarif"), coerce=int)
    quantity = forms.DecimalField(
        label=_("Menge"),
        min_value=0,
        max_digits=14,
        decimal_places=4,
        localize=True,
        error_messages={
            "required": _("Bitte geben Sie eine Menge an."),
            "invalid": _("Bitte geben Sie eine Zahl wie 2 oder 1,5 an."),
            "min_value": _("Bitte geben Sie eine Menge größer als null an."),
        },
    )
    effective = forms.ChoiceField(
        label=_("Ab wann?"),
        choices=[
            ("now", _("Sofort (anteilig verrechnet)")),
            ("next_period", _("Ab der nächsten Abrechnungsperiode")),
        ],
        initial="now",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: object, plans: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["plan"].choices = plans  # type: ignore[attr-defined]


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Warum kündigen Sie? (freiwillig)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class MandateForm(forms.Form):
    account_holder = forms.CharField(
        label=_("Kontoinhaber"),
        max_length=70,
        error_messages={"required": _("Bitte geben Sie den Kontoinhaber an.")},
    )
    iban = forms.CharField(
        label=_("IBAN"),
        max_length=42,
        error_messages={"required": _("Bitte geben Sie Ihre IBAN an.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    consent = forms.BooleanField(
        label=_("Ich erteile das SEPA-Lastschriftmandat wie oben beschrieben."),
        error_messages={"required": _("Bitte bestätigen Sie das Lastschriftmandat.")},
    )
