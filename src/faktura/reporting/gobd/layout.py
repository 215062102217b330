"""The tables of the GoBD data access (Z3) and how each column is written.

One place describes every column: ``index.xml`` is generated from it and the CSV values are
formatted by it, so the description and the data cannot drift apart. Names follow the
German column names an auditor's software (IDEA, AIS TaxAudit) shows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

# The description standard's defaults, declared explicitly in index.xml anyway.
DECIMAL_SYMBOL = ","
DIGIT_GROUPING_SYMBOL = "."
COLUMN_DELIMITER = ";"
RECORD_DELIMITER = "\r\n"
TEXT_ENCAPSULATOR = '"'
DATE_FORMAT = "DD.MM.YYYY"
ENCODING = "utf-8"
DTD_NAME = "gdpdu-01-09-2004.dtd"

ColumnType = Literal["numeric", "alphanumeric", "date"]


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    type: ColumnType = "alphanumeric"
    accuracy: int = 0  # digits after the decimal symbol, numeric columns only

    def format(self, value: Any) -> str:
        """The CSV text of ``value`` as index.xml declares it (decimal comma, DD.MM.YYYY)."""
        if value is None or value == "":
            return ""
        if self.type == "numeric":
            number = Decimal(value)
            # Quantize to the declared accuracy: the standard leaves more digits undefined.
            text = f"{number:.{self.accuracy}f}"
            return text.replace(".", DECIMAL_SYMBOL)
        if self.type == "date":
            if isinstance(value, dt.datetime):
                value = value.date()
            return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"
        return str(value)


@dataclass(frozen=True)
class ForeignKey:
    column: str
    references: str  # the referenced table's Name
    to: str  # the referenced primary key column


@dataclass(frozen=True)
class Table:
    key: str  # the selector's name
    url: str
    name: str
    description: str
    columns: tuple[Column, ...]
    foreign_keys: tuple[ForeignKey, ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


def _money(name: str, description: str) -> Column:
    return Column(name, description, "numeric", 2)


def _id(name: str, description: str) -> Column:
    return Column(name, description, "numeric", 0)


def _date(name: str, description: str) -> Column:
    return Column(name, description, "date")


def _text(name: str, description: str) -> Column:
    return Column(name, description)


CUSTOMERS = Table(
    key="customers",
    url="kunden.csv",
    name="Kunden",
    description="Kundenstammdaten aller Kunden, auf die sich Belege, Zahlungen oder Mahnungen "
    "des Jahres beziehen",
    columns=(
        _id("Kunden_ID", "Interne Kennung des Kunden"),
        _text("Kundennummer", "Kundennummer"),
        _text(
            "Art",
            "business = Unternehmen, consumer = Verbraucher, public_body = öffentliche Verwaltung",
        ),
        _text("Name", "Name oder Firma"),
        _text("Strasse", "Straße"),
        _text("Hausnummer", "Hausnummer"),
        _text("PLZ", "Postleitzahl"),
        _text("Ort", "Ort"),
        _text("Land", "Land (ISO 3166-1)"),
        _text("USt_IdNr", "Umsatzsteuer-Identifikationsnummer"),
        _text("Leitweg_ID", "Leitweg-ID (öffentliche Auftraggeber)"),
        _text("E_Mail", "E-Mail-Adresse für Rechnungen"),
        _date("Angelegt_am", "Tag der Anlage"),
    ),
)

INVOICES = Table(
    key="invoices",
    url="belege.csv",
    name="Belege",
    description="Festgeschriebene Rechnungen, Gutschriften (Rechnungskorrekturen) und "
    "Stornorechnungen mit Rechnungsdatum im Jahr",
    columns=(
        _id("Beleg_ID", "Interne Kennung des Belegs"),
        _text("Belegart", "invoice = Rechnung, credit_note = Gutschrift, cancellation = Storno"),
        _text("Belegnummer", "Rechnungsnummer (fortlaufend je Nummernkreis)"),
        _id("Kunden_ID", "Kunde (Tabelle Kunden)"),
        _id("Bezug_Beleg_ID", "Korrigierter Originalbeleg (Gutschrift, Storno)"),
        _date("Rechnungsdatum", "Rechnungsdatum"),
        _date("Leistung_von", "Beginn des Leistungszeitraums"),
        _date("Leistung_bis", "Ende des Leistungszeitraums"),
        _date("Faellig_am", "Fälligkeit"),
        _text("Waehrung", "Währung (ISO 4217)"),
        _money("Summe_Positionen", "Summe der Nettobeträge der Positionen (BT-106)"),
        _money("Nachlaesse", "Nachlässe auf Belegebene (BT-107)"),
        _money("Netto", "Steuerbemessungsgrundlage gesamt (BT-109)"),
        _money("Umsatzsteuer", "Umsatzsteuer gesamt (BT-110)"),
        _money("Brutto", "Gesamtbetrag (BT-112)"),
        _money("Zahlbetrag", "Fälliger Betrag (BT-115)"),
        _text("Festgeschrieben_von", "Wer den Beleg festgeschrieben hat"),
        _date("Festgeschrieben_am", "Tag der Festschreibung"),
        _text("Inhalts_Hash", "SHA-256 des festgeschriebenen Inhalts"),
    ),
    foreign_keys=(
        ForeignKey("Kunden_ID", "Kunden", "Kunden_ID"),
        ForeignKey("Bezug_Beleg_ID", "Belege", "Beleg_ID"),
    ),
)

LINES = Table(
    key="lines",
    url="belegpositionen.csv",
    name="Belegpositionen",
    description="Positionen der Belege des Jahres",
    columns=(
        _id("Position_ID", "Interne Kennung der Position"),
        _id("Beleg_ID", "Beleg (Tabelle Belege)"),
        _id("Position", "Positionsnummer im Beleg"),
        _text("Artikelnummer", "Artikelnummer (SKU)"),
        _text("Bezeichnung", "Bezeichnung der Leistung"),
        Column("Menge", "Menge", "numeric", 4),
        _text("Einheit", "Mengeneinheit (UN/ECE Rec. 20)"),
        Column("Einzelpreis_netto", "Nettoeinzelpreis (BT-146)", "numeric", 4),
        _money("Rabatt", "Nachlass auf die Position, netto (BT-136)"),
        _money("Nettobetrag", "Nettobetrag der Position (BT-131)"),
        _text("Steuerkategorie", "Umsatzsteuerkategorie (UNTDID 5305)"),
        _money("Steuersatz", "Umsatzsteuersatz in Prozent"),
    ),
    foreign_keys=(ForeignKey("Beleg_ID", "Belege", "Beleg_ID"),),
)

TAXES = Table(
    key="taxes",
    url="steuern.csv",
    name="Steueraufteilung",
    description="Aufteilung der Umsatzsteuer je Beleg und Steuersatz (BG-23)",
    columns=(
        _id("Steuer_ID", "Interne Kennung"),
        _id("Beleg_ID", "Beleg (Tabelle Belege)"),
        _text("Steuerkategorie", "Umsatzsteuerkategorie (UNTDID 5305)"),
        _money("Steuersatz", "Umsatzsteuersatz in Prozent"),
        _money("Bemessungsgrundlage", "Steuerbemessungsgrundlage (BT-116)"),
        _money("Steuerbetrag", "Umsatzsteuerbetrag (BT-117)"),
        _text("Befreiungsgrund", "Grund der Steuerbefreiung (BT-120)"),
    ),
    foreign_keys=(ForeignKey("Beleg_ID", "Belege", "Beleg_ID"),),
)

PAYMENTS = Table(
    key="payments",
    url="zahlungen.csv",
    name="Zahlungen",
    description="Zahlungseingänge mit Zahlungsdatum im Jahr",
    columns=(
        _id("Zahlung_ID", "Interne Kennung der Zahlung"),
        _id("Kunden_ID", "Kunde (Tabelle Kunden), leer wenn nicht zugeordnet"),
        _date("Datum", "Zahlungsdatum (Wertstellung)"),
        _money("Betrag", "Betrag"),
        _text("Waehrung", "Währung (ISO 4217)"),
        _text("Zahlungsart", "Zahlungsart"),
        _text("Quelle", "Herkunft (Kontoauszug, Anbieter, manuell)"),
        _text("Verwendungszweck", "Verwendungszweck oder Referenz"),
        _text("Zahler", "Name des Zahlers"),
        _text("Zahler_IBAN", "IBAN des Zahlers"),
        _text("Externe_Kennung", "Kennung bei Bank oder Zahlungsanbieter"),
        _text("Erfasst_von", "Wer die Zahlung erfasst hat"),
    ),
    foreign_keys=(ForeignKey("Kunden_ID", "Kunden", "Kunden_ID"),),
)

ALLOCATIONS = Table(
    key="allocations",
    url="zuordnungen.csv",
    name="Zuordnungen",
    description="Zuordnungen der Zahlungen des Jahres zu Belegen, mit Auflösungen",
    columns=(
        _id("Zuordnung_ID", "Interne Kennung der Zuordnung"),
        _id("Zahlung_ID", "Zahlung (Tabelle Zahlungen)"),
        _id("Beleg_ID", "Beleg (Tabelle Belege, ggf. eines Vorjahres)"),
        _money("Betrag", "Zugeordneter Betrag"),
        _date("Zugeordnet_am", "Tag der Zuordnung"),
        _text("Zugeordnet_von", "Wer zugeordnet hat"),
        _date("Aufgeloest_am", "Tag der Auflösung (Rücklastschrift, Korrektur)"),
        _text("Aufgeloest_von", "Wer die Zuordnung aufgelöst hat"),
        _text("Aufloesungsgrund", "Grund der Auflösung"),
    ),
    foreign_keys=(
        ForeignKey("Zahlung_ID", "Zahlungen", "Zahlung_ID"),
        ForeignKey("Beleg_ID", "Belege", "Beleg_ID"),
    ),
)

DUNNING_NOTICES = Table(
    key="dunning_notices",
    url="mahnungen.csv",
    name="Mahnungen",
    description="Zahlungserinnerungen und Mahnungen mit Mahndatum im Jahr (ohne verworfene "
    "Vorschläge)",
    columns=(
        _id("Mahnung_ID", "Interne Kennung der Mahnung"),
        _id("Kunden_ID", "Kunde (Tabelle Kunden)"),
        _id("Beleg_ID", "Gemahnter Beleg (Tabelle Belege), leer bei Sammelmahnung"),
        _id("Stufe", "Mahnstufe"),
        _text("Bezeichnung", "Bezeichnung der Mahnstufe"),
        _date("Mahndatum", "Datum der Mahnung"),
        _date("Zahlungsfrist", "Neue Zahlungsfrist"),
        _text("Status", "proposed, approved, sent"),
        _money("Offene_Forderungen", "Offene Rechnungsbeträge"),
        _money("Mahngebuehren", "Mahngebühren"),
        _money("Verzugszinsen", "Verzugszinsen (§ 288 BGB)"),
        _money("Ruecklastschriftkosten", "Rücklastschriftkosten"),
        _money("Gesamtbetrag", "Gesamtbetrag der Mahnung"),
    ),
    foreign_keys=(
        ForeignKey("Kunden_ID", "Kunden", "Kunden_ID"),
        ForeignKey("Beleg_ID", "Belege", "Beleg_ID"),
    ),
)

AUDIT_LOG = Table(
    key="audit_log",
    url="protokoll.csv",
    name="Protokoll",
    description="Änderungsprotokoll (hash-verkettet, nur anfügbar) mit Einträgen des Jahres",
    columns=(
        _id("Eintrag_ID", "Interne Kennung des Eintrags"),
        _text("Kette", "Protokollkette (company oder customer:<Kunden_ID>)"),
        _id("Laufnummer", "Laufende Nummer in der Kette"),
        _date("Datum", "Tag des Eintrags (Zeitzone der Firma)"),
        _text("Uhrzeit", "Uhrzeit des Eintrags (HH:MM:SS, Zeitzone der Firma)"),
        _text("Benutzer", "Wer gehandelt hat"),
        _text("Aktion", "Was geschah"),
        _text("Objektart", "Art des betroffenen Objekts"),
        _text("Objekt_ID", "Kennung des betroffenen Objekts"),
        _text("Daten", "Einzelheiten (JSON), u. a. Werte vor und nach einer Änderung"),
        _text("Vorheriger_Hash", "SHA-256 des vorigen Eintrags der Kette"),
        _text("Hash", "SHA-256 dieses Eintrags"),
    ),
)

TABLES: tuple[Table, ...] = (
    CUSTOMERS,
    INVOICES,
    LINES,
    TAXES,
    PAYMENTS,
    ALLOCATIONS,
    DUNNING_NOTICES,
    AUDIT_LOG,
)
