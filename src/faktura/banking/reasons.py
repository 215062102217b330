"""Why matching decided as it did: a stable code and its parameters, put into words when shown.

Matching stores no sentences. A suggestion keeps ``reason_code`` and ``reason_params``
(JSON), a bank line its note as ``note_code`` and ``note_params``; the back office, the
API and the admin render them with :func:`render` in the reader's language (German
msgids, translated by the catalog). Lines stored before the codes keep their German
sentence (``reason`` / ``note``), shown as it is.

Remarks that weaken a match are boolean parameters of any code (``other_payer``,
``mixed_customers``, ``conflict``); they are appended in that order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

# code → sentence; ``%(name)s`` are the code's parameters (amounts as "119.00").
TEXTS: dict[str, Promise] = {
    # notes: why a line waits or was put aside
    "pending": _("Vorgemerkt, noch nicht gebucht (kommt gebucht wieder)."),
    "transfer_returned": _("Rückgabe einer Überweisung von uns (z. B. Erstattung): bitte prüfen."),
    "debit_file_not_submitted": _(
        "%(end_to_end_id)s: Die Lastschriftdatei ist noch nicht als übergeben markiert."
    ),
    "debit_returned_already": _("%(end_to_end_id)s: Diese Lastschrift wurde schon zurückgegeben."),
    "debit_in_state": _("%(end_to_end_id)s: Lastschrift im Zustand %(state)s."),
    "debit_credited_twice": _(
        "Die Gutschrift von %(end_to_end_id)s steht schon auf diesem Auszug."
    ),
    "return_unknown": _("Rücklastschrift, zu der Faktura keine Lastschrift findet: bitte prüfen."),
    "return_twice": _("Die Rückgabe von %(end_to_end_id)s steht schon auf diesem Auszug."),
    "outgoing": _("Ausgang (Zahlung an Dritte)."),
    # suggestions and matches
    "debit_booked_already": _("Lastschrift %(end_to_end_id)s ist schon gebucht."),
    "debit_amount_differs": _(
        "Lastschrift %(end_to_end_id)s über %(expected)s, gebucht %(booked)s."
    ),
    "debit": _("Lastschrift %(end_to_end_id)s aus Lastschriftdatei %(batch)s."),
    "batch": _("Sammelbuchung der Lastschriftdatei %(batch)s."),
    "batch_amount_differs": _("Lastschriftdatei %(batch)s über %(expected)s, gebucht %(booked)s."),
    "return_recorded_already": _("Rückgabe von %(end_to_end_id)s ist schon erfasst."),
    "return": _("Rücklastschrift %(end_to_end_id)s (%(return_reason)s)."),
    "refund_paid": _("Erstattung %(end_to_end_id)s ausgezahlt."),
    "notice_exact": _("Mahnung %(reference)s, Betrag passt."),
    "notice_partial": _("Mahnung %(reference)s: Teilzahlung auf %(total)s."),
    "notice_overpaid": _("Mahnung %(reference)s: mehr als %(total)s, Rest als Guthaben."),
    "number_exact": _("%(numbers)s im Verwendungszweck, Betrag passt."),
    "number_partial": _("%(numbers)s: Teilzahlung, %(rest)s bleiben offen."),
    "overpaid": _("%(numbers)s: Überzahlung, %(credit)s als Guthaben."),
    "numbers_sum": _("%(numbers)s: Summe passt."),
    "numbers_short": _("%(numbers)s: %(amount)s reicht nicht für alle (%(total)s)."),
    "instalment_exact": _("Rate %(reference)s, Betrag passt."),
    "instalment_partial": _("Rate %(reference)s: Teilzahlung, %(rest)s bleiben offen."),
    "instalment_more": _("Rate %(reference)s: %(more)s mehr als die Rate."),
    "paid_number": _("%(number)s ist schon bezahlt: als Guthaben des Kunden buchen?"),
    "mandate_exact": _("Mandat des Kunden, Betrag passt zu %(number)s."),
    "mandate_all_open": _("Mandat des Kunden, Summe aller offenen Rechnungen."),
    "account_all_open": _("Konto des Kunden, Summe aller offenen Rechnungen."),
    "account_credit": _("Konto des Kunden bekannt, keine passende Rechnung: Guthaben."),
    "name_credit": _("Name ähnlich (%(likeness)s%%), keine passende Rechnung: Guthaben?"),
}
# Codes whose sentence is put together from parts (see _composed).
COMPOSED = frozenset({"mandate_ambiguous", "amount"})
CODES = frozenset(TEXTS) | COMPOSED

# Remarks appended to any code, in this order.
REMARKS: dict[str, Promise] = {
    "other_payer": _("Das Konto gehört einem anderen Kunden."),
    "mixed_customers": _("Rechnungen verschiedener Kunden genannt."),
    "conflict": _("Andere Hinweise nennen einen anderen Kunden."),
}


@dataclass(frozen=True, slots=True)
class Reason:
    """A code of :data:`CODES` and its parameters (JSON values: str, int, bool)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def adding(self, remark: str) -> Reason:
        """The same reason with a remark of :data:`REMARKS` appended."""
        assert remark in REMARKS, remark
        return Reason(self.code, {**self.params, remark: True})

    def text(self) -> str:
        """The sentence in the active language."""
        return render(self.code, self.params)


def percent(likeness: float) -> int:
    """A name likeness (0..1) as the whole percent shown: 0.857 → 86."""
    return int(f"{likeness:.0%}".rstrip("%"))


def render(code: str, params: Mapping[str, Any] | None = None) -> str:
    """The sentence of ``code`` with ``params`` in the active language.

    An unknown code or parameters that do not fit show the code itself: a stored line is
    never unreadable because the texts moved on.
    """
    values = dict(params or {})
    if code == "return" and not values.get("return_reason"):
        values["return_reason"] = gettext("ohne Grund")
    try:
        if code in COMPOSED:
            text = _composed(code, values)
        elif code in TEXTS:
            text = str(TEXTS[code]) % values
        else:
            return code
    except (KeyError, TypeError, ValueError):
        return code
    remarks = [str(REMARKS[name]) for name in REMARKS if values.get(name)]
    return " ".join([text, *remarks])


def _composed(code: str, values: dict[str, Any]) -> str:
    if code == "mandate_ambiguous":
        return ngettext(
            "Mandat des Kunden; %(count)d Rechnung über %(amount)s.",
            "Mandat des Kunden; %(count)d Rechnungen über %(amount)s.",
            int(values["count"]),
        ) % {"count": int(values["count"]), "amount": values["amount"]}
    # amount: the same amount, and what else points at the invoice's customer.
    why = [gettext("Betrag passt")]
    if values.get("account_known"):
        why.append(gettext("Konto bekannt"))
    if values.get("likeness") is not None:
        why.append(gettext("Name ähnlich (%(likeness)s%%)") % {"likeness": values["likeness"]})
    explanation = ", ".join(why)
    if values.get("rivals"):
        rivals = int(values["rivals"])
        explanation += "; " + ngettext(
            "%(count)d Rechnung kommt in Frage",
            "%(count)d Rechnungen kommen in Frage",
            rivals,
        ) % {"count": rivals}
    return gettext("%(number)s: %(explanation)s.") % {
        "number": values["number"],
        "explanation": explanation,
    }


def of_suggestion(suggestion: Mapping[str, Any]) -> str:
    """The reason of a stored suggestion (or match plan) in the active language.

    Suggestions stored before the codes carry their German sentence in ``reason``.
    """
    code = suggestion.get("reason_code")
    if code:
        return render(str(code), suggestion.get("reason_params") or {})
    return str(suggestion.get("reason") or "")


def of_note(code: str, params: Mapping[str, Any] | None, note: str) -> str:
    """A bank line's note: matching's code in the active language, else the text kept
    (a person's reason for ignoring it, a refused booking, a note stored before codes)."""
    return render(code, params) if code else note
