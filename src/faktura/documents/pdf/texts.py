"""Words and number formats of printed documents, in German and English.

Kept apart from the layout so the wording can be read, reviewed and tested as text:
every legally required phrase (§ 14 (4), § 14a UStG, § 19 UStG) is in this file.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal

from faktura.documents.snapshot import DocumentSnapshot, PartySnapshot

NBSP = "\u00a0"  # keeps "1.234,56 €" and "19 %" on one line

_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}

# UN/ECE Recommendation 20 unit codes (BT-130) as printed: (de singular, de plural,
# en singular, en plural).
_UNITS: dict[str, tuple[str, str, str, str]] = {
    "C62": ("Stk.", "Stk.", "pc.", "pcs."),
    "H87": ("Stk.", "Stk.", "pc.", "pcs."),
    "EA": ("Stk.", "Stk.", "pc.", "pcs."),
    "XPP": ("Stk.", "Stk.", "pc.", "pcs."),
    "HUR": ("Std.", "Std.", "h", "h"),
    "MIN": ("Min.", "Min.", "min", "min"),
    "SEC": ("Sek.", "Sek.", "s", "s"),
    "DAY": ("Tag", "Tage", "day", "days"),
    "WEE": ("Woche", "Wochen", "week", "weeks"),
    "MON": ("Monat", "Monate", "month", "months"),
    "QAN": ("Quartal", "Quartale", "quarter", "quarters"),
    "ANN": ("Jahr", "Jahre", "year", "years"),
    "KGM": ("kg", "kg", "kg", "kg"),
    "GRM": ("g", "g", "g", "g"),
    "TNE": ("t", "t", "t", "t"),
    "MTR": ("m", "m", "m", "m"),
    "KMT": ("km", "km", "km", "km"),
    "MTK": ("m²", "m²", "m²", "m²"),
    "MTQ": ("m³", "m³", "m³", "m³"),
    "LTR": ("l", "l", "l", "l"),
    "KWH": ("kWh", "kWh", "kWh", "kWh"),
    "LS": ("pauschal", "pauschal", "lump sum", "lump sum"),
    "SET": ("Set", "Sets", "set", "sets"),
    "PR": ("Paar", "Paar", "pair", "pairs"),
    "XPK": ("Paket", "Pakete", "package", "packages"),
    "XBX": ("Karton", "Kartons", "box", "boxes"),
    "P1": ("%", "%", "%", "%"),
    "E48": ("Leistung", "Leistungen", "service", "services"),
}

_COUNTRIES: dict[str, tuple[str, str]] = {
    "DE": ("Deutschland", "Germany"),
    "AT": ("Österreich", "Austria"),
    "CH": ("Schweiz", "Switzerland"),
    "LI": ("Liechtenstein", "Liechtenstein"),
    "BE": ("Belgien", "Belgium"),
    "BG": ("Bulgarien", "Bulgaria"),
    "CY": ("Zypern", "Cyprus"),
    "CZ": ("Tschechien", "Czechia"),
    "DK": ("Dänemark", "Denmark"),
    "EE": ("Estland", "Estonia"),
    "ES": ("Spanien", "Spain"),
    "FI": ("Finnland", "Finland"),
    "FR": ("Frankreich", "France"),
    "GR": ("Griechenland", "Greece"),
    "HR": ("Kroatien", "Croatia"),
    "HU": ("Ungarn", "Hungary"),
    "IE": ("Irland", "Ireland"),
    "IT": ("Italien", "Italy"),
    "LT": ("Litauen", "Lithuania"),
    "LU": ("Luxemburg", "Luxembourg"),
    "LV": ("Lettland", "Latvia"),
    "MT": ("Malta", "Malta"),
    "NL": ("Niederlande", "Netherlands"),
    "NO": ("Norwegen", "Norway"),
    "PL": ("Polen", "Poland"),
    "PT": ("Portugal", "Portugal"),
    "RO": ("Rumänien", "Romania"),
    "SE": ("Schweden", "Sweden"),
    "SI": ("Slowenien", "Slovenia"),
    "SK": ("Slowakei", "Slovakia"),
    "GB": ("Vereinigtes Königreich", "United Kingdom"),
    "US": ("Vereinigte Staaten", "United States"),
}

TEXT: dict[str, dict[str, str]] = {
    "de": {
        "invoice": "Rechnung",
        "credit_note": "Rechnungskorrektur",
        "cancellation": "Stornorechnung",
        "refers_to": "zu Rechnung {number} vom {date}",
        "number_short": "Nr. {number}",
        "number_invoice": "Rechnungsnummer",
        "date_invoice": "Rechnungsdatum",
        "number_other": "Belegnummer",
        "date_other": "Belegdatum",
        "service_date": "Leistungsdatum",
        "service_period": "Leistungszeitraum",
        "see_items": "siehe Positionen",
        "customer_number": "Kundennummer",
        "your_reference": "Ihre Referenz",
        "leitweg_id": "Leitweg-ID",
        "your_order": "Ihre Bestellung",
        "your_vat_id": "Ihre USt-IdNr.",
        "our_vat_id": "Unsere USt-IdNr.",
        "our_tax_number": "Unsere Steuernr.",
        "due_date": "Fällig am",
        "contact": "Ansprechpartner",
        "greeting_named": "Guten Tag {name},",
        "greeting": "Sehr geehrte Damen und Herren,",
        "intro_invoice": "vielen Dank für Ihren Auftrag. Wir berechnen Ihnen die folgenden "
        "Lieferungen und Leistungen:",
        "intro_credit_note": "wir korrigieren die oben genannte Rechnung wie folgt:",
        "intro_cancellation": "hiermit stornieren wir die oben genannte Rechnung in voller Höhe:",
        "col_pos": "Pos.",
        "col_name": "Bezeichnung",
        "col_qty": "Menge",
        "col_unit": "Einheit",
        "col_price": "Einzelpreis",
        "col_price_gross": "Einzelpreis brutto",
        "col_discount": "Rabatt",
        "col_vat": "USt.",
        "col_amount": "Betrag",
        "col_amount_gross": "Betrag brutto",
        "carry_bottom": "Übertrag",
        "carry_top": "Übertrag",
        "sku": "Art.-Nr.",
        "total_lines": "Summe Positionen",
        "less": "abzgl. {reason}",
        "discount": "Rabatt",
        "total_net": "Summe netto",
        "vat_line": "USt {rate} auf {basis}",
        "grand_total": "Gesamtbetrag",
        "prepaid": "abzgl. bereits gezahlt",
        "payable": "Zahlbetrag",
        "transfer_due": "Bitte überweisen Sie {amount} bis zum {date} unter Angabe der "
        "Rechnungsnummer {number}.",
        "transfer_now": "Bitte überweisen Sie {amount} sofort ohne Abzug unter Angabe der "
        "Rechnungsnummer {number}.",
        "skonto": "Bei Zahlung bis {date} gewähren wir {percent} Skonto ({amount}).",
        "direct_debit": "Den Betrag von {amount} ziehen wir am {date} mit der SEPA-Lastschrift "
        "zum Mandat {mandate}, Gläubiger-ID {creditor_id}, von Ihrem Konto {iban} ein. "
        "Bitte sorgen Sie für ausreichende Deckung.",
        "provider": "Die Zahlung von {amount} erfolgt über den von Ihnen gewählten Zahlungsdienst.",
        "refund": "Der Betrag von {amount} wird Ihnen erstattet oder mit offenen Posten "
        "verrechnet.",
        "paid": "Der Rechnungsbetrag ist bereits beglichen.",
        "account_holder": "Kontoinhaber",
        "bank": "Bank",
        "qr_caption": "GiroCode|Mit der Banking-App scannen",
        "qr_alt": "QR-Code für die Überweisung (GiroCode) mit Empfänger, IBAN, Betrag und "
        "Verwendungszweck",
        "closing": "Mit freundlichen Grüßen",
        "running_head": "{title} {number} vom {date}",
        "page": "Seite",
        "page_of": "von",
        "managing_directors": "Geschäftsführung",
        "vat_id": "USt-IdNr.",
        "tax_number": "Steuernr.",
        "phone": "Tel.",
        "attachment_description": "Factur-X/ZUGFeRD-Rechnungsdaten (EN 16931)",
        "note_small_business": "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet.",
        "note_reverse_charge": "Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG). "
        "USt-IdNr. des Leistungsempfängers: {buyer_vat}.",
        "note_reverse_charge_eu": "Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG / "
        "Art. 196 MwStSystRL). USt-IdNr. des Leistenden: {seller_vat}, USt-IdNr. des "
        "Leistungsempfängers: {buyer_vat}.",
        "note_intra_community": "Steuerfreie innergemeinschaftliche Lieferung (§ 4 Nr. 1b, "
        "§ 6a UStG). USt-IdNr. des Lieferers: {seller_vat}, USt-IdNr. des Abnehmers: "
        "{buyer_vat}.",
        "note_export": "Steuerfreie Ausfuhrlieferung (§ 4 Nr. 1a, § 6 UStG).",
        "note_not_taxable": "Nicht im Inland steuerbare Leistung (§ 3a Abs. 2 UStG).",
        "note_exempt": "Steuerfreie Leistung.",
    },
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "cancellation": "Cancellation",
        "refers_to": "for invoice {number} dated {date}",
        "number_short": "no. {number}",
        "number_invoice": "Invoice no.",
        "date_invoice": "Invoice date",
        "number_other": "Document no.",
        "date_other": "Date",
        "service_date": "Date of supply",
        "service_period": "Service period",
        "see_items": "see items",
        "customer_number": "Customer no.",
        "your_reference": "Your reference",
        "leitweg_id": "Leitweg-ID",
        "your_order": "Your order",
        "your_vat_id": "Your VAT ID",
        "our_vat_id": "Our VAT ID",
        "our_tax_number": "Our tax no.",
        "due_date": "Due date",
        "contact": "Contact",
        "greeting_named": "Dear {name},",
        "greeting": "Dear Sir or Madam,",
        "intro_invoice": "thank you for your order. We invoice you for the following goods "
        "and services:",
        "intro_credit_note": "we correct the invoice named above as follows:",
        "intro_cancellation": "we hereby cancel the invoice named above in full:",
        "col_pos": "No.",
        "col_name": "Description",
        "col_qty": "Qty",
        "col_unit": "Unit",
        "col_price": "Unit price",
        "col_price_gross": "Unit price incl. VAT",
        "col_discount": "Discount",
        "col_vat": "VAT",
        "col_amount": "Amount",
        "col_amount_gross": "Amount incl. VAT",
        "carry_bottom": "Carried forward",
        "carry_top": "Brought forward",
        "sku": "Item no.",
        "total_lines": "Total of items",
        "less": "Less {reason}",
        "discount": "discount",
        "total_net": "Total net",
        "vat_line": "VAT {rate} on {basis}",
        "grand_total": "Total",
        "prepaid": "Less amount paid",
        "payable": "Amount due",
        "transfer_due": "Please transfer {amount} by {date}, quoting the invoice number {number}.",
        "transfer_now": "Please transfer {amount} immediately, quoting the invoice number "
        "{number}.",
        "skonto": "If paid by {date}, you may deduct a {percent} early payment discount "
        "({amount}).",
        "direct_debit": "We will collect {amount} by SEPA direct debit on {date} under mandate "
        "{mandate}, creditor ID {creditor_id}, from your account {iban}. Please make sure "
        "the account has sufficient funds.",
        "provider": "Payment of {amount} is made through the payment service you selected.",
        "refund": "The amount of {amount} will be refunded to you or offset against open items.",
        "paid": "This invoice has already been paid.",
        "account_holder": "Account holder",
        "bank": "Bank",
        "qr_caption": "EPC QR code|Scan with your banking app",
        "qr_alt": "EPC QR code for the bank transfer with payee, IBAN, amount and reference",
        "closing": "Kind regards",
        "running_head": "{title} {number} of {date}",
        "page": "Page",
        "page_of": "of",
        "managing_directors": "Managing directors",
        "vat_id": "VAT ID",
        "tax_number": "Tax no.",
        "phone": "Phone",
        "attachment_description": "Factur-X/ZUGFeRD invoice data (EN 16931)",
        "note_small_business": "No VAT is charged: small business under § 19 UStG.",
        # Art. 226 no. 11a VAT Directive: the words "Reverse charge"; § 14a (5) UStG: the
        # German phrase, kept so German auditors find it.
        "note_reverse_charge": "Reverse charge: the recipient is liable for the VAT "
        "(Steuerschuldnerschaft des Leistungsempfängers, § 13b UStG). Recipient's VAT ID: "
        "{buyer_vat}.",
        "note_reverse_charge_eu": "Reverse charge: the recipient is liable for the VAT "
        "(Art. 196 VAT Directive; Steuerschuldnerschaft des Leistungsempfängers, § 13b UStG). "
        "Supplier's VAT ID: {seller_vat}, recipient's VAT ID: {buyer_vat}.",
        "note_intra_community": "Tax-exempt intra-Community supply (Art. 138 VAT Directive; "
        "§ 4 No. 1b, § 6a UStG). Supplier's VAT ID: {seller_vat}, customer's VAT ID: "
        "{buyer_vat}.",
        "note_export": "Tax-exempt export delivery (§ 4 No. 1a, § 6 UStG).",
        "note_not_taxable": "Not taxable in Germany: the place of supply is where the "
        "recipient is established (§ 3a (2) UStG).",
        "note_exempt": "Tax-exempt supply.",
    },
}


# --------------------------------------------------------------------------- numbers


def _grouped(value: Decimal, places: int, lang: str) -> str:
    text = f"{abs(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):,.{places}f}"
    if lang == "de":  # 1,234.56 → 1.234,56
        text = text.translate(str.maketrans(",.", ".,"))
    return text


def money(value: Decimal, currency: str, lang: str, *, places: int = 2) -> str:
    """Format an amount: "1.234,56 €" (de, DIN 5008) or "€1,234.56" (en)."""
    sign = "-" if value < 0 else ""
    number = _grouped(value, places, lang)
    symbol = _SYMBOLS.get(currency)
    if lang == "en":
        return f"{sign}{symbol}{number}" if symbol else f"{sign}{currency}{NBSP}{number}"
    return f"{sign}{number}{NBSP}{symbol or currency}"


def _plain(value: Decimal, lang: str) -> str:
    """A number without needless zeros: 7.5 → "7,5", 19.00 → "19"."""
    text = f"{value.normalize():f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    whole, _, fraction = text.partition(".")
    grouped = f"{int(whole):,}".replace(",", "." if lang == "de" else ",")
    if whole.startswith("-") and grouped[0] != "-":
        grouped = "-" + grouped
    separator = "," if lang == "de" else "."
    return f"{grouped}{separator}{fraction}" if fraction else grouped


def percent(value: Decimal, lang: str) -> str:
    """ "19 %" in German (DIN 5008: space before the sign), "19%" in English."""
    return f"{_plain(value, lang)}{NBSP}%" if lang == "de" else f"{_plain(value, lang)}%"


def quantity_parts(value: Decimal, lang: str) -> tuple[str, str]:
    """Split a quantity into whole part and decimal part ("7", ",5") for decimal alignment."""
    text = _plain(value, lang)
    separator = "," if lang == "de" else "."
    whole, sep, fraction = text.partition(separator)
    return whole, f"{sep}{fraction}" if sep else ""


def unit(code: str, quantity: Decimal, lang: str) -> str:
    names = _UNITS.get(code.upper())
    if names is None:
        return code
    offset = 0 if lang == "de" else 2
    return names[offset] if quantity == 1 else names[offset + 1]


def sku(value: str, lang: str) -> str:
    return f"{TEXT[lang]['sku']} {value}" if value else ""


def country(code: str, lang: str) -> str:
    names = _COUNTRIES.get(code.upper())
    return code if names is None else names[0 if lang == "de" else 1]


def format_iban(iban: str) -> str:
    compact = "".join(iban.split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def mask_iban(iban: str) -> str:
    """Show country, check digits and the last four characters only (data minimisation in
    the SEPA pre-notification): DE89 XXXX XXXX XXXX XX30 00."""
    compact = "".join(iban.split()).upper()
    masked = compact[:4] + "X" * (len(compact) - 8) + compact[-4:]
    return format_iban(masked)


# --------------------------------------------------------------------------- dates


def date(value: dt.date, lang: str) -> str:
    """16.11.2026 (de) or 16 November 2026 (en)."""
    if lang == "en":
        return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"
    return f"{value:%d.%m.%Y}"


def line_period(start: dt.date | None, end: dt.date | None, lang: str) -> str:
    """A line's date of supply for the item table: "Leistungszeitraum: 01.12.–31.12.2026"."""
    if start is None or end is None:
        return ""
    t = TEXT[lang]
    if start == end:
        return f"{t['service_date']}: {date(end, lang)}"
    return f"{t['service_period']}: {period(start, end, lang)}"


def period(start: dt.date, end: dt.date, lang: str) -> str:
    """A service period, compact: 01.10.–31.10.2026 (DIN 5008) or 1–31 October 2026."""
    if lang == "en":
        if (start.year, start.month) == (end.year, end.month):
            return f"{start.day}–{date(end, lang)}"
        if start.year == end.year:
            return f"{start.day} {_MONTHS_EN[start.month - 1]} – {date(end, lang)}"
        return f"{date(start, lang)} – {date(end, lang)}"
    if start.year == end.year:
        return f"{start:%d.%m.}–{end:%d.%m.%Y}"
    return f"{start:%d.%m.%Y}–{end:%d.%m.%Y}"


# --------------------------------------------------------------------------- sentences


def title(s: DocumentSnapshot, lang: str) -> tuple[str, str]:
    """The document title and what it refers to.

    A commercial credit note is titled "Rechnungskorrektur", not "Gutschrift": in § 14 (2)
    sentence 2 UStG "Gutschrift" means self-billing by the buyer, and the word on a seller's
    correction invites that confusion (UStAE 14.3 (1)).
    """
    t = TEXT[lang]
    main = t[s.kind]
    if s.kind != "invoice" and s.preceding_invoice_number:
        when = date(s.preceding_invoice_date, lang) if s.preceding_invoice_date else ""
        suffix = t["refers_to"].format(number=s.preceding_invoice_number, date=when)
        if not when:
            suffix = suffix.rsplit(" ", 2)[0]  # drop the dangling "vom" / "dated"
        return main, suffix
    return main, t["number_short"].format(number=s.number)


def salutation(s: DocumentSnapshot, lang: str) -> str:
    """Greet the contact person by name; a department ("Referat 21") gets the formal
    greeting, as do companies without a contact."""
    return party_salutation(s.buyer, lang)


def party_salutation(buyer: PartySnapshot, lang: str) -> str:
    """The greeting of ``salutation`` for a buyer outside a document (notices)."""
    t = TEXT[lang]
    name = buyer.contact_name or (buyer.name if buyer.is_consumer else "")
    if not name or any(char.isdigit() for char in name):
        return t["greeting"]
    return t["greeting_named"].format(name=name)


def vat_notes(s: DocumentSnapshot, lang: str) -> list[str]:
    """The notes VAT law asks for when no (full) tax is charged, in print order."""
    t = TEXT[lang]
    notes: list[str] = []
    if s.small_business:
        notes.append(t["note_small_business"])  # § 19 (1) UStG, § 34a UStDV
    categories = {tax.category: tax for tax in s.tax_breakdown}
    ids = {"buyer_vat": s.buyer.vat_id or "–", "seller_vat": s.seller.vat_id or "–"}
    if "AE" in categories:  # § 14a (5) UStG; a service to another EU state: Art. 196 VAT Dir.
        abroad = bool(s.buyer.country) and s.buyer.country != s.seller.country
        key = "note_reverse_charge_eu" if abroad else "note_reverse_charge"
        notes.append(t[key].format(**ids))
    if "K" in categories:  # § 14a (3) UStG: both VAT IDs
        notes.append(t["note_intra_community"].format(**ids))
    for category, key in (("G", "note_export"), ("O", "note_not_taxable")):
        if category in categories:
            notes.append(categories[category].exemption_reason or t[key])
    if "E" in categories and not s.small_business:
        notes.append(categories["E"].exemption_reason or t["note_exempt"])
    return notes


def note_key(text: str) -> str:
    """Compare notes by their letters and digits only ("1 b" equals "1b")."""
    return re.sub(r"[\W_]+", "", text.casefold())
