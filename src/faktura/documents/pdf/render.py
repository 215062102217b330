"""Render a finalized document (invoice, credit note, cancellation) to a tagged PDF/A-3a + PDF/UA-1.

Python decides every word and figure (formatted for the customer's language); the Typst
template in ``templates/invoice.typ`` only lays them out. The data travels as one JSON
string in ``sys.inputs`` because typst-py accepts only strings there; the e-invoice XML
travels as a second string and Typst embeds it (``pdf.attach``). One cheap pikepdf pass
then adds the Factur-X XMP properties (``xmp.py``) and, if the letterhead is a PDF, lays it
beneath the pages.

One Typst compiler lives per process: it keeps fonts, the template and images parsed, so a
render costs about as much as Typst's layout. It is created lazily, guarded by a lock
(typst-py compilers are not documented as thread-safe) and rebuilt after a failure. A
process that has rendered must not fork and render in the child: Typst's thread pool does
not survive fork(), so that raises RuntimeError instead of hanging.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pikepdf
import typst

from faktura.core.errors import InvalidInput
from faktura.core.money import CENT, round_money
from faktura.documents.pdf import texts
from faktura.documents.pdf.fonts import font_paths
from faktura.documents.pdf.letterhead import DEFAULT_LETTERHEAD, Asset, Letterhead
from faktura.documents.pdf.qr import epc_payload, epc_qr_svg
from faktura.documents.pdf.xmp import (
    ConformanceLevel,
    set_facturx_metadata,
    with_facturx_metadata,
)
from faktura.documents.pdf.xmp import save as save_pdf
from faktura.documents.snapshot import (
    DocumentSnapshot,
    LineSnapshot,
    PartySnapshot,
    TaxSnapshot,
)

TEMPLATE_PATH = Path(__file__).resolve().parent / "templates" / "invoice.typ"
# Typst may read files only below its root. "/" lets the template reach the letterhead
# files cached under the temp directory; it reads nothing but paths Python hands it.
_ROOT = "/"
_ASSET_DIR = Path(tempfile.gettempdir()) / f"faktura-pdf-assets-{os.getuid()}"
# More line items than fit on the first page even without details: such a document is set
# as a table with repeated head and carried totals at once, not tried in the quick layout.
SURELY_MULTI_PAGE_ROWS = 25
# Exempt categories print a note instead of a tax amount (§ 14 (4) no. 8 UStG).
_EXEMPT = {"E", "AE", "K", "G", "O"}


# --------------------------------------------------------------------------- public API


def render_pdf(
    snapshot: DocumentSnapshot,
    *,
    einvoice_xml: bytes | None,
    letterhead: Letterhead | None = None,
) -> bytes:
    """Render ``snapshot`` as tagged PDF/A-3a + PDF/UA-1; embed ``einvoice_xml`` (Factur-X).

    The same snapshot and XML always give the same bytes (the PDF dates are the issue
    date), so an archived file can be re-rendered and compared.
    Raises InvalidInput when the XML is not UTF-8 or the format cannot be embedded
    (XRechnung UBL is sent as XML on its own, never inside a PDF).
    """
    filename, level = _attachment(snapshot)
    letterhead = letterhead or DEFAULT_LETTERHEAD
    context = build_context(snapshot, letterhead, attachment=filename)
    inputs = {"data": _as_json(context)}
    if einvoice_xml is not None:
        if filename is None:
            raise InvalidInput(
                "XRechnung UBL cannot be embedded into a PDF; send the XML on its own",
                code="einvoice_not_embeddable",
            )
        try:
            # sys.inputs carries strings; Typst re-encodes it as UTF-8, byte for byte.
            inputs["xml"] = einvoice_xml.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(
                "The e-invoice XML must be UTF-8 (Factur-X 1.0 § 6.1)", code="invalid_xml"
            ) from None
    timestamp = _timestamp(snapshot)
    pdf = _compile(inputs, timestamp=timestamp)
    if not context["table"]["repeat_header"] and _page_count(pdf) > 1:
        # The quick layout has no repeated table head and no carried totals; a document
        # that runs onto a second page is set again as a table that has both.
        context["table"]["repeat_header"] = True
        inputs["data"] = _as_json(context)
        pdf = _compile(inputs, timestamp=timestamp)
    embedded = einvoice_xml is not None and filename is not None
    underlays = _pdf_backgrounds(letterhead)
    if underlays == (None, None):
        if not embedded:
            return pdf
        assert filename is not None
        return with_facturx_metadata(pdf, filename=filename, conformance_level=level)
    with pikepdf.open(io.BytesIO(pdf)) as document:
        _underlay(document, *underlays)
        if embedded:
            assert filename is not None
            set_facturx_metadata(document, filename=filename, conformance_level=level)
        return save_pdf(document)


def typst_inputs(
    snapshot: DocumentSnapshot,
    *,
    letterhead: Letterhead | None = None,
    attachment: str | None = None,
) -> dict[str, str]:
    """Return the ``sys.inputs`` for the template: the document as JSON (no XML)."""
    context = build_context(snapshot, letterhead or DEFAULT_LETTERHEAD, attachment=attachment)
    return {"data": _as_json(context)}


def _as_json(context: dict[str, Any]) -> str:
    return json.dumps(context, ensure_ascii=False, separators=(",", ":"))


_PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def _page_count(pdf: bytes) -> int:
    """The pages of a PDF Typst wrote: it writes every page object uncompressed."""
    return len(_PAGE_OBJECT.findall(pdf))


def reset_compiler() -> None:
    """Drop the per-process compiler; the next render builds a fresh one."""
    with _lock:
        _compilers.clear()


# --------------------------------------------------------------------------- compiling


class RendererUnavailable(RuntimeError):
    """Typst cannot render in this process: the process's fault, not the document's."""


_lock = threading.Lock()
# One compiler per template (the invoice's, the dunning letter's).
_compilers: dict[Path, typst.Compiler] = {}
_owner_pid: int | None = None  # the process whose Typst runtime is running


# The documents a customer reads (invoices, credit notes, dunning letters, statements) are
# tagged PDF/A-3a and PDF/UA-1: a screen reader follows headings, tables and alt texts, and
# the archive copy keeps its logical structure (ISO 19005-3 level A, ISO 14289-1). Internal
# print matter (the print batch's cover sheet) stays an untagged PDF/A-3b.


def _compile(
    inputs: dict[str, str],
    *,
    timestamp: dt.datetime,
    template: Path = TEMPLATE_PATH,
    accessible: bool = True,
) -> bytes:
    global _owner_pid
    with _lock:
        if _owner_pid is not None and _owner_pid != os.getpid():
            # Typst's worker threads do not survive fork(): a compile in a child of a
            # process that already rendered waits forever. Fail loudly instead.
            raise RendererUnavailable(
                "This process was forked after rendering a PDF; Typst cannot render in it. "
                "Render only in worker processes, never before they are forked."
            )
        compiler = _compilers.get(template)
        if compiler is None:
            # Compile from the file path: typst-py 0.15.2 fails on the second compile of a
            # source given as bytes.
            _owner_pid = os.getpid()
            compiler = typst.Compiler(str(template), root=_ROOT, font_paths=font_paths())
            _compilers[template] = compiler
        try:
            result = compiler.compile(
                sys_inputs=inputs,
                pdf_standards=["a-3a", "ua-1"] if accessible else "a-3b",
                timestamp=timestamp,
                # PDF/A-3a and PDF/UA-1 require the structure tree; the cover sheet does not
                # need it.
                pdf_tags=accessible,
            )
        except BaseException:
            # A failed compile may leave the compiler's caches half-updated: start over.
            _compilers.pop(template, None)
            raise
    assert isinstance(result, bytes)
    return result


def _timestamp(snapshot: DocumentSnapshot) -> dt.datetime:
    return dt.datetime.combine(snapshot.issue_date, dt.time(0, 0), tzinfo=dt.UTC)


def _attachment(snapshot: DocumentSnapshot) -> tuple[str | None, ConformanceLevel]:
    # ZUGFeRD 2.x: an XRECHNUNG-profile XML is embedded as xrechnung.xml.
    if snapshot.einvoice_format == "cii":
        return "factur-x.xml", "EN 16931"
    if snapshot.einvoice_format == "xrechnung-cii":
        return "xrechnung.xml", "XRECHNUNG"
    return None, "XRECHNUNG"


def _pdf_backgrounds(letterhead: Letterhead) -> tuple[bytes | None, bytes | None]:
    def data(asset: Asset | None) -> bytes | None:
        return asset.data if asset is not None and asset.mime == "application/pdf" else None

    return data(letterhead.first_page_background), data(letterhead.following_pages_background)


def _underlay(document: pikepdf.Pdf, first: bytes | None, following: bytes | None) -> None:
    """Put PDF letterhead pages beneath Typst's pages.

    Typst 0.15 refuses PDF images in PDF/A export, so PDF backgrounds are joined here as
    form XObjects. The uploaded PDF must itself be PDF/A-ready (fonts embedded, RGB or
    grey only); its content is copied, not checked.
    """
    for data, pages in ((first, document.pages[:1]), (following, document.pages[1:])):
        if data is None or not pages:
            continue
        with pikepdf.open(io.BytesIO(data)) as background:
            form = document.copy_foreign(background.pages[0].as_form_xobject())
        for page in pages:
            name = page.add_resource(form, pikepdf.Name.XObject)
            placed = page.calc_form_xobject_placement(
                form,
                name,
                pikepdf.Rectangle(page.trimbox),
                invert_transformations=True,
                allow_shrink=True,
                allow_expand=True,
            )
            # Marked as an artifact: in a tagged PDF every content is either in the structure
            # tree or an artifact (ISO 14289-1 § 7.1); the letterhead is page furniture.
            page.contents_add(b"/Artifact BMC\n" + placed + b"\nEMC\n", prepend=True)
            page.contents_coalesce()


def _asset_path(asset: Asset) -> str:
    """Write ``asset`` once to a content-addressed file Typst can read, and return its path."""
    digest = hashlib.sha256(asset.data).hexdigest()
    path = _ASSET_DIR / f"{digest}.{asset.extension}"
    if not path.exists():
        _ASSET_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(asset.data)
        os.replace(temporary, path)  # atomic: a parallel render never sees half a file
    return str(path)


# --------------------------------------------------------------------------- the context


@dataclass(frozen=True)
class _Fmt:
    """Formatting for one document: language and currency."""

    lang: str
    currency: str

    def money(self, value: Decimal) -> str:
        return texts.money(value, self.currency, self.lang)

    def date(self, value: dt.date) -> str:
        return texts.date(value, self.lang)

    def percent(self, value: Decimal) -> str:
        return texts.percent(value, self.lang)


def build_context(
    snapshot: DocumentSnapshot, letterhead: Letterhead, *, attachment: str | None = None
) -> dict[str, Any]:
    """Return every word and figure of the document, formatted, as a JSON-ready dict."""
    lang = "en" if snapshot.language == "en" else "de"
    t = texts.TEXT[lang]
    f = _Fmt(lang, snapshot.currency)
    seller, buyer = snapshot.seller, snapshot.buyer
    title, title_suffix = texts.title(snapshot, lang)
    return {
        "lang": lang,
        "meta": {
            "title": f"{title} {snapshot.number}",
            "author": seller.name,
            "keywords": [snapshot.number, seller.name, buyer.name],
        },
        "attachment": attachment,
        "attachment_description": t["attachment_description"],
        "letterhead": _letterhead(letterhead, seller.name),
        "return_line": " · ".join(
            part for part in (seller.name, seller.street_line, _city(seller, lang)) if part
        ),
        "recipient": _address_lines(buyer, lang, with_contact=not buyer.is_consumer),
        "info": _info(snapshot, t, f, show_seller_vat=not letterhead.footer),
        "title": title,
        "title_suffix": title_suffix,
        "title_inline": snapshot.kind == "invoice",
        "salutation": texts.salutation(snapshot, lang),
        "intro": t[f"intro_{snapshot.kind}"],
        "table": _table(snapshot, t, f),
        "totals": _totals(snapshot, t, f),
        "notes": _notes(snapshot, lang, title),
        "payment": _payment(snapshot, t, f),
        "closing": t["closing"],
        "signature": seller.name,
        "running_head": t["running_head"].format(
            title=title, number=snapshot.number, date=f.date(snapshot.issue_date)
        ),
        "page": t["page"],
        "page_of": t["page_of"],
        "footer": _footer(snapshot, t) if letterhead.footer else [],
    }


def _letterhead(letterhead: Letterhead, name: str) -> dict[str, Any]:
    def path(asset: Asset | None) -> str | None:
        # PDF backgrounds are laid beneath the pages afterwards (see _underlay).
        if asset is None or asset.mime == "application/pdf":
            return None
        return _asset_path(asset)

    return {
        "name": name,
        "accent": letterhead.accent_colour,
        "logo": path(letterhead.logo),
        # PDF/UA-1 (ISO 14289-1 § 7.3): every figure has an alternative text.
        "logo_alt": f"Logo {name}",
        "first": path(letterhead.first_page_background),
        "following": path(letterhead.following_pages_background),
        # With any first-page background the letterhead is printed on it, not drawn here.
        "own_head": letterhead.first_page_background is None,
    }


def _city(party: PartySnapshot, lang: str) -> str:
    city = f"{party.postcode} {party.city}".strip()
    if party.country and party.country != "DE":
        city = f"{city}, {texts.country(party.country, lang)}"
    return city


def _address_lines(party: PartySnapshot, lang: str, *, with_contact: bool) -> list[str]:
    # DIN 5008: name, recipient person (without "z. Hd."), street, postcode + city, and the
    # destination country in capitals on the last line for mail abroad.
    lines = [party.name]
    if with_contact and party.contact_name:
        lines.append(party.contact_name)
    lines += [party.street_line, f"{party.postcode} {party.city}".strip()]
    if party.country and party.country != "DE":
        lines.append(texts.country(party.country, lang).upper())
    return [line for line in lines if line]


def _info(
    s: DocumentSnapshot, t: dict[str, str], f: _Fmt, *, show_seller_vat: bool
) -> list[list[str]]:
    kind = "invoice" if s.kind == "invoice" else "other"
    rows: list[list[str]] = [
        [t[f"number_{kind}"], s.number],  # § 14 (4) no. 4 UStG
        [t[f"date_{kind}"], f.date(s.issue_date)],  # § 14 (4) no. 3 UStG
    ]
    # § 14 (4) no. 6 UStG: date of the supply, or the period for recurring services.
    start, end = s.service_date_start, s.service_date_end
    if start is None or end is None:
        # Every line names its own period, printed under it.
        rows.append([t["service_period"], t["see_items"]])
    elif start == end:
        rows.append([t["service_date"], f.date(end)])
    else:
        rows.append([t["service_period"], texts.period(start, end, f.lang)])
    if s.buyer.customer_number:
        rows.append([t["customer_number"], s.buyer.customer_number])
    if s.buyer_reference:
        is_leitweg = s.buyer_reference == s.buyer.leitweg_id
        rows.append([t["leitweg_id" if is_leitweg else "your_reference"], s.buyer_reference])
    if s.order_reference:
        rows.append([t["your_order"], s.order_reference])
    if s.buyer.vat_id:
        rows.append([t["your_vat_id"], s.buyer.vat_id])
    if show_seller_vat:
        # § 14 (4) no. 2 UStG: with the generated footer off, print it here.
        if s.seller.vat_id:
            rows.append([t["our_vat_id"], s.seller.vat_id])
        elif s.seller.tax_number:
            rows.append([t["our_tax_number"], s.seller.tax_number])
    if s.kind == "invoice" and s.due_date is not None and s.payable_amount > 0:
        rows.append([t["due_date"], f.date(s.due_date)])
    if s.seller.contact_name:
        rows.append([t["contact"], s.seller.contact_name])
    return rows


def _gross_line_amount(line: LineSnapshot) -> Decimal:
    """The gross line amount the consumer saw: quantity × gross price − gross discount.

    Finalized documents carry it; for snapshots without it, the discount (kept net, BT-136)
    is recomputed on the gross: exact for percentages, grossed up for amounts.
    """
    if line.gross_amount is not None:
        return line.gross_amount
    assert line.gross_unit_price is not None
    base = round_money(line.quantity * line.gross_unit_price)
    if line.discount_percent:
        discount = round_money(base * line.discount_percent / 100)
    else:
        discount = round_money(line.discount_amount * (1 + line.tax_rate / 100))
    return base - discount


def _table(s: DocumentSnapshot, t: dict[str, str], f: _Fmt) -> dict[str, Any]:
    gross = s.price_mode == "gross" and all(li.gross_unit_price is not None for li in s.lines)
    show_discount = any(li.discount_amount or li.discount_percent for li in s.lines)
    # A VAT column only where VAT is charged: never for § 19 UStG, which must not show VAT.
    show_vat = not s.small_business and any(li.tax_category not in _EXEMPT for li in s.lines)
    rows = []
    running = Decimal("0.00")
    for line in s.lines:
        amount = _gross_line_amount(line) if gross else line.net_amount
        running += amount
        price = line.gross_unit_price if gross and line.gross_unit_price else line.unit_price
        whole, fraction = texts.quantity_parts(line.quantity, f.lang)
        details = [part for part in (texts.sku(line.sku, f.lang), line.description) if part]
        rows.append(
            {
                "pos": str(line.position),
                "name": line.name,
                "details": " · ".join(details),
                "period": texts.line_period(line.service_date_start, line.service_date_end, f.lang),
                "qty": whole,
                "qty_frac": fraction,
                "unit": texts.unit(line.unit_code, line.quantity, f.lang),
                "price": texts.money(price, s.currency, f.lang, places=_price_places(price)),
                "discount": _line_discount(line, f, gross=gross),
                "vat": f.percent(line.tax_rate) if line.tax_category not in _EXEMPT else "–",
                "amount": f.money(amount),
                # The running total for "Übertrag" at a page break (see the template).
                "carry": f.money(running),
            }
        )
    return {
        "show_discount": show_discount,
        "show_vat": show_vat,
        "head": {
            "pos": t["col_pos"],
            "name": t["col_name"],
            "qty": t["col_qty"],
            "unit": t["col_unit"],
            "price": t["col_price_gross" if gross else "col_price"],
            "discount": t["col_discount"],
            "vat": t["col_vat"],
            "amount": t["col_amount_gross" if gross else "col_amount"],
        },
        "qty_frac_widest": max((row["qty_frac"] for row in rows), key=len, default=""),
        # The quick layout (no repeated head, no carries) unless the table cannot fit one
        # page; render_pdf sets it again when the quick layout ran onto a second page.
        "repeat_header": len(rows) > SURELY_MULTI_PAGE_ROWS,
        "carry_bottom": t["carry_bottom"],
        "carry_top": t["carry_top"],
        "rows": rows,
    }


def _price_places(price: Decimal) -> int:
    # Unit prices carry up to four decimals (BT-146); print two unless more are used.
    return 2 if price == price.quantize(CENT) else 4


def _line_discount(line: LineSnapshot, f: _Fmt, *, gross: bool) -> str:
    if line.discount_percent:
        return f.percent(line.discount_percent)
    if line.discount_amount:
        # In a gross-priced table the discount is shown gross too, as in _gross_line_amount.
        amount = line.discount_amount
        if gross:
            amount = round_money(amount * (1 + line.tax_rate / 100))
        return f"-{f.money(amount)}"
    return ""


def _totals(s: DocumentSnapshot, t: dict[str, str], f: _Fmt) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []

    def add(label: str, value: Decimal, style: str = "") -> None:
        rows.append({"label": label, "value": f.money(value), "style": style})

    if s.allowances:
        add(t["total_lines"], s.line_total)
        several = len({(a.tax_category, a.tax_rate) for a in s.allowances}) > 1
        for allowance in s.allowances:  # § 14 (4) no. 7 UStG: agreed reductions
            label = t["less"].format(reason=allowance.reason or t["discount"])
            if several:
                label += f" ({f.percent(allowance.tax_rate)})"
            add(label, -allowance.amount)
    if not s.small_business:
        add(t["total_net"], s.tax_basis_total, "sub" if s.allowances else "")
        for tax in s.tax_breakdown:  # § 14 (4) no. 7 and 8 UStG: basis, rate, amount per rate
            add(_tax_label(tax, t, f), tax.tax_amount)
    add(t["grand_total"], s.grand_total, "grand")
    if s.prepaid_amount:
        add(t["prepaid"], -s.prepaid_amount)
        add(t["payable"], s.payable_amount, "grand")
    return rows


def _tax_label(tax: TaxSnapshot, t: dict[str, str], f: _Fmt) -> str:
    return t["vat_line"].format(rate=f.percent(tax.rate), basis=f.money(tax.taxable_amount))


def _notes(s: DocumentSnapshot, lang: str, title: str) -> list[str]:
    generated = texts.vat_notes(s, lang)
    known = [texts.note_key(n) for n in generated]
    known += [texts.note_key(tax.exemption_reason) for tax in s.tax_breakdown]
    free = []
    for note in s.notes:
        key = texts.note_key(note)
        # The e-invoice carries the exemption text as a note (BT-22) too: print it once, in
        # the wording with the VAT IDs. Likewise "Stornorechnung zur Rechnung RE-…" repeats
        # the title of a correction.
        if not key or any(key in k for k in known if k):
            continue
        refers = bool(s.preceding_invoice_number) and s.preceding_invoice_number in note
        if refers and note.casefold().startswith(title.casefold()):
            continue
        free.append(note)
    return generated + free


def _payment(s: DocumentSnapshot, t: dict[str, str], f: _Fmt) -> dict[str, Any]:
    amount = f.money(s.payable_amount)
    paragraphs: list[str] = []
    bank: list[list[str]] = []
    qr: str | None = None
    if s.is_credit:
        paragraphs.append(t["refund"].format(amount=amount))
    elif s.payable_amount <= 0:
        paragraphs.append(t["paid"])
    elif s.payment_means == "direct_debit" and s.direct_debit is not None:
        dd = s.direct_debit
        paragraphs.append(  # SEPA rulebook: pre-notification with date, mandate, creditor ID
            t["direct_debit"].format(
                amount=amount,
                date=f.date(dd.debit_date),
                mandate=dd.mandate_reference,
                creditor_id=dd.creditor_id,
                iban=texts.mask_iban(dd.debtor_iban),
            )
        )
    elif s.payment_means == "provider":
        paragraphs.append(t["provider"].format(amount=amount))
    else:
        due = f.date(s.due_date) if s.due_date else ""
        key = "transfer_due" if due else "transfer_now"
        paragraphs.append(t[key].format(amount=amount, date=due, number=s.number))
        if s.bank is not None:
            bank = [
                [t["account_holder"], s.bank.account_holder or s.seller.name],
                ["IBAN", texts.format_iban(s.bank.iban)],
                ["BIC", s.bank.bic],
                [t["bank"], s.bank.bank_name],
            ]
            bank = [row for row in bank if row[1]]
            payload = epc_payload(
                name=s.bank.account_holder or s.seller.name,
                iban=s.bank.iban,
                bic=s.bank.bic,
                amount=s.payable_amount,
                remittance=s.number,
            )
            qr = epc_qr_svg(payload).decode("ascii")
    if not s.is_credit and s.payable_amount > 0 and s.early_payment_discount_percent:
        # § 14 (4) no. 7 UStG: an agreed early-payment discount belongs on the invoice.
        days = s.early_payment_discount_days or 0
        pct = s.early_payment_discount_percent
        discounted = s.payable_amount - round_money(s.payable_amount * pct / 100)
        paragraphs.append(
            t["skonto"].format(
                date=f.date(s.issue_date + dt.timedelta(days=days)),
                percent=f.percent(pct),
                amount=f.money(discounted),
            )
        )
    return {
        "paragraphs": paragraphs,
        "bank": bank,
        "qr": qr,
        "qr_caption": t["qr_caption"].split("|"),
        "qr_alt": t["qr_alt"],
    }


def _footer(s: DocumentSnapshot, t: dict[str, str]) -> list[list[str]]:
    seller, lang = s.seller, s.language
    address = [seller.name, seller.street_line, _city(seller, lang)]
    legal = []
    if seller.managing_directors:
        legal.append(f"{t['managing_directors']}: {seller.managing_directors}")
    if seller.register_court or seller.register_number:
        legal.append(" ".join(p for p in (seller.register_court, seller.register_number) if p))
    if seller.vat_id:  # § 14 (4) no. 2 UStG
        legal.append(f"{t['vat_id']} {seller.vat_id}")
    if seller.tax_number:
        legal.append(f"{t['tax_number']} {seller.tax_number}")
    contact = []
    if seller.phone:
        contact.append(f"{t['phone']} {seller.phone}")
    if seller.email:
        contact.append(seller.email)
    if seller.website:
        contact.append(seller.website.removeprefix("https://").removeprefix("http://"))
    bank = []
    if s.bank is not None:
        # Non-breaking spaces: an IBAN must never wrap inside the narrow footer column.
        iban = texts.format_iban(s.bank.iban).replace(" ", "\u00a0")
        bank = [s.bank.bank_name, f"IBAN\u00a0{iban}", f"BIC {s.bank.bic}"]
    columns = [address, legal, contact, bank]
    return [[line for line in column if line] for column in columns if any(column)]


def company_footer(company: Any, bank: Any, lang: str) -> list[list[str]]:
    """The letterhead footer of a letter from the company's master data (dunning letter,
    account statement): address, legal data, contact, bank; empty columns left out."""
    t = texts.TEXT[lang]
    address = [
        company.legal_name,
        f"{company.street} {company.house_number}".strip(),
        f"{company.postcode} {company.city}".strip(),
    ]
    legal = []
    if company.managing_directors:
        legal.append(f"{t['managing_directors']}: {company.managing_directors}")
    if company.register_court or company.register_number:
        legal.append(" ".join(p for p in (company.register_court, company.register_number) if p))
    if company.vat_id:
        legal.append(f"{t['vat_id']} {company.vat_id}")
    contact = [f"{t['phone']} {company.phone}" if company.phone else "", company.email]
    banking = []
    if bank is not None:
        iban = texts.format_iban(bank.iban).replace(" ", "\u00a0")
        banking = [bank.bank_name, f"IBAN\u00a0{iban}", f"BIC {bank.bic}" if bank.bic else ""]
    columns = [address, legal, contact, banking]
    return [[line for line in column if line] for column in columns if any(column)]
