"""The column names of the DATEV formats Faktura writes (line 2 of each file).

DATEV reads the fields by position; the names are there for people and for the import
preview. Spelling as in DATEV's format description, including its quirks
("Zusatzinformation- Inhalt").
"""

from __future__ import annotations


def _pairs(kind: str, content: str, count: int) -> tuple[str, ...]:
    return tuple(name for i in range(1, count + 1) for name in (f"{kind} {i}", f"{content} {i}"))


# Buchungsstapel, format category 21, format version 13: 125 columns (version 12 had 124,
# version 13 appended "Abw. Skontokonto").
BOOKING_COLUMNS: tuple[str, ...] = (
    (
        "Umsatz (ohne Soll/Haben-Kz)",
        "Soll/Haben-Kennzeichen",
        "WKZ Umsatz",
        "Kurs",
        "Basis-Umsatz",
        "WKZ Basis-Umsatz",
        "Konto",
        "Gegenkonto (ohne BU-Schlüssel)",
        "BU-Schlüssel",
        "Belegdatum",
        "Belegfeld 1",
        "Belegfeld 2",
        "Skonto",
        "Buchungstext",
        "Postensperre",
        "Diverse Adressnummer",
        "Geschäftspartnerbank",
        "Sachverhalt",
        "Zinssperre",
        "Beleglink",
    )
    + _pairs("Beleginfo - Art", "Beleginfo - Inhalt", 8)
    + (
        "KOST1 - Kostenstelle",
        "KOST2 - Kostenstelle",
        "Kost-Menge",
        "EU-Land u. UStID (Bestimmung)",
        "EU-Steuersatz (Bestimmung)",
        "Abw. Versteuerungsart",
        "Sachverhalt L+L",
        "Funktionsergänzung L+L",
        "BU 49 Hauptfunktionstyp",
        "BU 49 Hauptfunktionsnummer",
        "BU 49 Funktionsergänzung",
    )
    + _pairs("Zusatzinformation - Art", "Zusatzinformation- Inhalt", 20)
    + (
        "Stück",
        "Gewicht",
        "Zahlweise",
        "Forderungsart",
        "Veranlagungsjahr",
        "Zugeordnete Fälligkeit",
        "Skontotyp",
        "Auftragsnummer",
        "Buchungstyp",
        "USt-Schlüssel (Anzahlungen)",
        "EU-Land (Anzahlungen)",
        "Sachverhalt L+L (Anzahlungen)",
        "EU-Steuersatz (Anzahlungen)",
        "Erlöskonto (Anzahlungen)",
        "Herkunft-Kz",
        "Buchungs GUID",
        "KOST-Datum",
        "SEPA-Mandatsreferenz",
        "Skontosperre",
        "Gesellschaftername",
        "Beteiligtennummer",
        "Identifikationsnummer",
        "Zeichnernummer",
        "Postensperre bis",
        "Bezeichnung SoBil-Sachverhalt",
        "Kennzeichen SoBil-Buchung",
        "Festschreibung",
        "Leistungsdatum",
        "Datum Zuord. Steuerperiode",
        "Fälligkeit",
        "Generalumkehr (GU)",
        "Steuersatz",
        "Land",
        "Abrechnungsreferenz",
        "BVV-Position",
        "EU-Land u. UStID (Ursprung)",
        "EU-Steuersatz (Ursprung)",
        "Abw. Skontokonto",
    )
)


def _bank(number: int, blank: str) -> tuple[str, ...]:
    return (
        f"Bankleitzahl {number}",
        f"Bankbezeichnung {number}",
        f"Bank-Kontonummer {number}",
        f"Länderkennzeichen {number}",
        f"IBAN-Nr. {number}",
        blank,
        f"SWIFT-Code {number}",
        f"Abw. Kontoinhaber {number}",
        f"Kennz. Hauptbankverb. {number}",
        f"Bankverb {number} Gültig von",
        f"Bankverb {number} Gültig bis",
    )


def _banks(numbers: range, first_blank: int) -> tuple[str, ...]:
    return tuple(
        name
        for offset, number in enumerate(numbers)
        for name in _bank(number, f"Leerfeld{first_blank + offset}")
    )


# Debitoren/Kreditoren, format category 16, format version 5.
DEBTOR_COLUMNS: tuple[str, ...] = (
    (
        "Konto",
        "Name (Adressattyp Unternehmen)",
        "Unternehmensgegenstand",
        "Name (Adressattyp natürl. Person)",
        "Vorname (Adressattyp natürl. Person)",
        "Name (Adressattyp keine Angabe)",
        "Adressattyp",
        "Kurzbezeichnung",
        "EU-Land",
        "EU-UStID",
        "Anrede",
        "Titel/Akad. Grad",
        "Adelstitel",
        "Namensvorsatz",
        "Adressart",
        "Straße",
        "Postfach",
        "Postleitzahl",
        "Ort",
        "Land",
        "Versandzusatz",
        "Adresszusatz",
        "Abweichende Anrede",
        "Abw. Zustellbezeichnung 1",
        "Abw. Zustellbezeichnung 2",
        "Kennz. Korrespondenzadresse",
        "Adresse Gültig von",
        "Adresse Gültig bis",
        "Telefon",
        "Bemerkung (Telefon)",
        "Telefon GL",
        "Bemerkung (Telefon GL)",
        "E-Mail",
        "Bemerkung (E-Mail)",
        "Internet",
        "Bemerkung (Internet)",
        "Fax",
        "Bemerkung (Fax)",
        "Sonstige",
        "Bemerkung (Sonstige)",
    )
    + _banks(range(1, 6), 1)
    + (
        "Leerfeld6",
        "Briefanrede",
        "Grußformel",
        "Kunden-/Lief.-Nr.",
        "Steuernummer",
        "Sprache",
        "Ansprechpartner",
        "Vertreter",
        "Sachbearbeiter",
        "Diverse-Konto",
        "Ausgabeziel",
        "Währungssteuerung",
        "Kreditlimit (Debitor)",
        "Zahlungsbedingung",
        "Fälligkeit in Tagen (Debitor)",
        "Skonto in Prozent (Debitor)",
        "Kreditoren-Ziel 1 Tg.",
        "Kreditoren-Skonto 1 %",
        "Kreditoren-Ziel 2 Tg.",
        "Kreditoren-Skonto 2 %",
        "Kreditoren-Ziel 3 Brutto Tg.",
        "Kreditoren-Ziel 4 Tg.",
        "Kreditoren-Skonto 4 %",
        "Kreditoren-Ziel 5 Tg.",
        "Kreditoren-Skonto 5 %",
        "Mahnung",
        "Kontoauszug",
        "Mahntext 1",
        "Mahntext 2",
        "Mahntext 3",
        "Kontoauszugstext",
        "Mahnlimit Betrag",
        "Mahnlimit %",
        "Zinsberechnung",
        "Mahnzinssatz 1",
        "Mahnzinssatz 2",
        "Mahnzinssatz 3",
        "Lastschrift",
        "Leerfeld7",
        "Mandantenbank",
        "Zahlungsträger",
    )
    + tuple(f"Indiv. Feld {i}" for i in range(1, 16))
    + (
        "Abweichende Anrede (Rechnungsadresse)",
        "Adressart (Rechnungsadresse)",
        "Straße (Rechnungsadresse)",
        "Postfach (Rechnungsadresse)",
        "Postleitzahl (Rechnungsadresse)",
        "Ort (Rechnungsadresse)",
        "Land (Rechnungsadresse)",
        "Versandzusatz (Rechnungsadresse)",
        "Adresszusatz (Rechnungsadresse)",
        "Abw. Zustellbezeichnung 1 (Rechnungsadresse)",
        "Abw. Zustellbezeichnung 2 (Rechnungsadresse)",
        "Adresse Gültig von (Rechnungsadresse)",
        "Adresse Gültig bis (Rechnungsadresse)",
    )
    + _banks(range(6, 11), 8)
    + ("Nummer Fremdsystem", "Insolvent")
    + tuple(f"SEPA-Mandatsreferenz {i}" for i in range(1, 11))
    + (
        "Verknüpftes OPOS-Konto",
        "Mahnsperre bis",
        "Lastschriftsperre bis",
        "Zahlungssperre bis",
        "Gebührenberechnung",
        "Mahngebühr 1",
        "Mahngebühr 2",
        "Mahngebühr 3",
        "Pauschalenberechnung",
        "Verzugspauschale 1",
        "Verzugspauschale 2",
        "Verzugspauschale 3",
        "Alternativer Suchname",
        "Status",
        "Anschrift manuell geändert (Korrespondenzadresse)",
        "Anschrift individuell (Korrespondenzadresse)",
        "Anschrift manuell geändert (Rechnungsadresse)",
        "Anschrift individuell (Rechnungsadresse)",
        "Fristberechnung bei Debitor",
        "Mahnfrist 1",
        "Mahnfrist 2",
        "Mahnfrist 3",
        "Letzte Frist",
    )
)
