"""Matching's stored German sentences become codes with parameters (banking.reasons).

Suggestions and match plans get ``reason_code`` and ``reason_params`` instead of their
German ``reason``; a line's note written by matching moves to ``note_code`` and
``note_params``. A text that is none of matching's sentences (a person's reason for
ignoring a line, a refused booking, anything unknown) stays as it is and is shown
verbatim. Going back writes the German sentences again.
"""

import re

from django.db import migrations

# Frozen copy of the German sentences of faktura.banking.reasons (a migration never
# imports live code).
NOTES = {
    "pending": "Vorgemerkt, noch nicht gebucht (kommt gebucht wieder).",
    "transfer_returned": "Rückgabe einer Überweisung von uns (z. B. Erstattung): bitte prüfen.",
    "debit_file_not_submitted": (
        "%(end_to_end_id)s: Die Lastschriftdatei ist noch nicht als übergeben markiert."
    ),
    "debit_returned_already": "%(end_to_end_id)s: Diese Lastschrift wurde schon zurückgegeben.",
    "debit_in_state": "%(end_to_end_id)s: Lastschrift im Zustand %(state)s.",
    "debit_credited_twice": "Die Gutschrift von %(end_to_end_id)s steht schon auf diesem Auszug.",
    "return_unknown": "Rücklastschrift, zu der Faktura keine Lastschrift findet: bitte prüfen.",
    "return_twice": "Die Rückgabe von %(end_to_end_id)s steht schon auf diesem Auszug.",
    "outgoing": "Ausgang (Zahlung an Dritte).",
}
REASONS = {
    "debit_booked_already": "Lastschrift %(end_to_end_id)s ist schon gebucht.",
    "debit_amount_differs": "Lastschrift %(end_to_end_id)s über %(expected)s, gebucht %(booked)s.",
    "debit": "Lastschrift %(end_to_end_id)s aus Lastschriftdatei %(batch)s.",
    "batch": "Sammelbuchung der Lastschriftdatei %(batch)s.",
    "batch_amount_differs": "Lastschriftdatei %(batch)s über %(expected)s, gebucht %(booked)s.",
    "return_recorded_already": "Rückgabe von %(end_to_end_id)s ist schon erfasst.",
    "return": "Rücklastschrift %(end_to_end_id)s (%(return_reason)s).",
    "refund_paid": "Erstattung %(end_to_end_id)s ausgezahlt.",
    "notice_exact": "Mahnung %(reference)s, Betrag passt.",
    "notice_partial": "Mahnung %(reference)s: Teilzahlung auf %(total)s.",
    "notice_overpaid": "Mahnung %(reference)s: mehr als %(total)s, Rest als Guthaben.",
    "number_exact": "%(numbers)s im Verwendungszweck, Betrag passt.",
    "number_partial": "%(numbers)s: Teilzahlung, %(rest)s bleiben offen.",
    "overpaid": "%(numbers)s: Überzahlung, %(credit)s als Guthaben.",
    "numbers_sum": "%(numbers)s: Summe passt.",
    "numbers_short": "%(numbers)s: %(amount)s reicht nicht für alle (%(total)s).",
    "instalment_exact": "Rate %(reference)s, Betrag passt.",
    "instalment_partial": "Rate %(reference)s: Teilzahlung, %(rest)s bleiben offen.",
    "instalment_more": "Rate %(reference)s: %(more)s mehr als die Rate.",
    "paid_number": "%(number)s ist schon bezahlt: als Guthaben des Kunden buchen?",
    "mandate_exact": "Mandat des Kunden, Betrag passt zu %(number)s.",
    "mandate_ambiguous": "Mandat des Kunden; %(count)s Rechnungen über %(amount)s.",
    "mandate_all_open": "Mandat des Kunden, Summe aller offenen Rechnungen.",
    "account_all_open": "Konto des Kunden, Summe aller offenen Rechnungen.",
    "account_credit": "Konto des Kunden bekannt, keine passende Rechnung: Guthaben.",
    "name_credit": "Name ähnlich (%(likeness)s%%), keine passende Rechnung: Guthaben?",
}
# "RE-2026-00001: Betrag passt, Konto bekannt, Name ähnlich (86%); 2 Rechnungen kommen in
# Frage." — each part but the first optional.
AMOUNT = re.compile(
    r"(?P<number>.+?): Betrag passt(?P<account_known>, Konto bekannt)?"
    r"(?:, Name ähnlich \((?P<likeness>\d+)%\))?"
    r"(?:; (?P<rivals>\d+) Rechnungen kommen in Frage)?\."
)
# Appended to any reason, in this order.
REMARKS = (
    ("other_payer", "Das Konto gehört einem anderen Kunden."),
    ("mixed_customers", "Rechnungen verschiedener Kunden genannt."),
    ("conflict", "Andere Hinweise nennen einen anderen Kunden."),
)
WHOLE_NUMBERS = {"batch", "count", "likeness", "rivals"}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


def _pattern(template):
    parts, end = [], 0
    for found in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[end : found.start()]))
        parts.append(f"(?P<{found.group(1)}>.+?)" if found.group(1) else "%")
        end = found.end()
    parts.append(re.escape(template[end:]))
    return re.compile("".join(parts))


def _patterns(texts):
    # The most specific first: "Rate X: Teilzahlung, …" before "%(numbers)s: Teilzahlung, …".
    def literal(item):
        return len(_PLACEHOLDER.sub("", item[1]))

    return [(code, _pattern(text)) for code, text in sorted(texts.items(), key=literal, reverse=True)]


NOTE_PATTERNS = _patterns(NOTES)
REASON_PATTERNS = _patterns(REASONS)


def _values(match):
    params = {}
    for name, value in match.groupdict().items():
        if value is None:
            continue
        params[name] = int(value) if name in WHOLE_NUMBERS and value.isdigit() else value
    return params


def parse_note(text):
    """(code, params) of one of matching's notes, or None."""
    for code, pattern in NOTE_PATTERNS:
        if found := pattern.fullmatch(text):
            return code, _values(found)
    return None


def parse_reason(text):
    """(code, params) of one of matching's reasons (with its remarks), or None."""
    remarks = {}
    for name, remark in reversed(REMARKS):
        if text.endswith(" " + remark):
            text = text[: -len(remark) - 1]
            remarks[name] = True
    if found := AMOUNT.fullmatch(text):
        params = _values(found)
        if params.pop("account_known", None):
            params["account_known"] = True
        return "amount", {**params, **remarks}
    for code, pattern in REASON_PATTERNS:
        if found := pattern.fullmatch(text):
            params = _values(found)
            if code == "return" and params.get("return_reason") == "ohne Grund":
                params["return_reason"] = ""
            return code, {**params, **remarks}
    return None


def german(code, params):
    """The German sentence of a code, as matching wrote it before the codes."""
    values = dict(params)
    if code == "amount":
        text = f"{values['number']}: Betrag passt"
        if values.get("account_known"):
            text += ", Konto bekannt"
        if values.get("likeness") is not None:
            text += f", Name ähnlich ({values['likeness']}%)"
        if values.get("rivals"):
            text += f"; {values['rivals']} Rechnungen kommen in Frage"
        text += "."
    else:
        if code == "return" and not values.get("return_reason"):
            values["return_reason"] = "ohne Grund"
        text = {**NOTES, **REASONS}[code] % values
    return " ".join([text, *(remark for name, remark in REMARKS if values.get(name))])


def _coded(suggestion):
    """The suggestion with a code for its German reason (None: nothing to change)."""
    reason = suggestion.get("reason")
    if not isinstance(reason, str) or "reason_code" in suggestion:
        return None
    parsed = parse_reason(reason)
    if parsed is None:
        return None  # not one of matching's sentences: kept and shown as it is
    rest = {key: value for key, value in suggestion.items() if key != "reason"}
    return {**rest, "reason_code": parsed[0], "reason_params": parsed[1]}


def _worded(suggestion):
    code = suggestion.get("reason_code")
    if not code:
        return None
    rest = {k: v for k, v in suggestion.items() if k not in ("reason_code", "reason_params")}
    return {**rest, "reason": german(code, suggestion.get("reason_params") or {})}


def _convert(apps, change_suggestion, change_note):
    line = apps.get_model("banking", "BankTransaction")
    fields = ["suggestions", "match_plan", "note", "note_code", "note_params"]
    batch = []
    rows = line.objects.order_by("pk").only("pk", *fields)
    for row in rows.iterator(chunk_size=2000):
        changed = False
        suggestions = []
        for suggestion in row.suggestions or []:
            new = change_suggestion(suggestion) if isinstance(suggestion, dict) else None
            suggestions.append(new or suggestion)
            changed = changed or new is not None
        row.suggestions = suggestions
        if isinstance(row.match_plan, dict) and (plan := change_suggestion(row.match_plan)):
            row.match_plan = plan
            changed = True
        changed = change_note(row) or changed
        if changed:
            batch.append(row)
        if len(batch) >= 1000:
            line.objects.bulk_update(batch, fields)
            batch = []
    if batch:
        line.objects.bulk_update(batch, fields)


def _code_note(row):
    if row.note_code or not row.note:
        return False
    parsed = parse_note(row.note)
    if parsed is None:
        return False
    row.note_code, row.note_params = parsed
    row.note = ""
    return True


def _word_note(row):
    if not row.note_code:
        return False
    row.note = german(row.note_code, row.note_params or {})[:500]
    row.note_code, row.note_params = "", {}
    return True


def forwards(apps, schema_editor):
    _convert(apps, _coded, _code_note)


def backwards(apps, schema_editor):
    _convert(apps, _worded, _word_note)


class Migration(migrations.Migration):
    dependencies = [("banking", "0003_note_code")]

    operations = [migrations.RunPython(forwards, backwards)]
