"""``index.xml`` after the GDPdU description standard (DTD gdpdu-01-09-2004.dtd).

The auditor's software reads this file first: which CSV files exist, their encoding,
separators, and each column's type. It is generated from ``layout`` alone.
"""

from __future__ import annotations

from importlib import resources

from lxml import etree

from faktura.reporting.gobd import layout
from faktura.reporting.gobd.selectors import Year


def dtd_bytes() -> bytes:
    """The published DTD of the description standard, shipped next to index.xml."""
    return resources.files("faktura.reporting.gobd").joinpath(layout.DTD_NAME).read_bytes()


def _add(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _column(parent: etree._Element, tag: str, column: layout.Column) -> None:
    element = _add(parent, tag)
    _add(element, "Name", column.name)
    _add(element, "Description", column.description)
    if column.type == "numeric":
        numeric = _add(element, "Numeric")
        _add(numeric, "Accuracy", str(column.accuracy))
    elif column.type == "date":
        date = _add(element, "Date")
        _add(date, "Format", layout.DATE_FORMAT)
    else:
        _add(element, "AlphaNumeric")


def _table(media: etree._Element, table: layout.Table, year: Year) -> None:
    element = _add(media, "Table")
    _add(element, "URL", table.url)
    _add(element, "Name", table.name)
    _add(element, "Description", table.description)
    validity = _add(element, "Validity")
    period = _add(validity, "Range")
    _add(period, "From", layout.Column("", "", "date").format(year.first_day))
    _add(period, "To", layout.Column("", "", "date").format(year.last_day))
    _add(validity, "Format", layout.DATE_FORMAT)
    _add(element, "UTF8")
    _add(element, "DecimalSymbol", layout.DECIMAL_SYMBOL)
    _add(element, "DigitGroupingSymbol", layout.DIGIT_GROUPING_SYMBOL)
    # Line 1 holds the column names; the data starts on line 2.
    rows = _add(element, "Range")
    _add(rows, "From", "2")
    variable = _add(element, "VariableLength")
    _add(variable, "ColumnDelimiter", layout.COLUMN_DELIMITER)
    _add(variable, "RecordDelimiter", layout.RECORD_DELIMITER)
    _add(variable, "TextEncapsulator", layout.TEXT_ENCAPSULATOR)
    primary, *others = table.columns
    _column(variable, "VariablePrimaryKey", primary)
    for column in others:
        _column(variable, "VariableColumn", column)
    for foreign_key in table.foreign_keys:
        key = _add(variable, "ForeignKey")
        _add(key, "Name", foreign_key.column)
        _add(key, "References", foreign_key.references)
        if foreign_key.column != foreign_key.to:
            alias = _add(key, "Alias")
            _add(alias, "From", foreign_key.column)
            _add(alias, "To", foreign_key.to)


def index_xml(*, year: Year, supplier: str, location: str, comment: str) -> bytes:
    """The index.xml of the export of ``year``, UTF-8, with its DOCTYPE."""
    root = etree.Element("DataSet")
    _add(root, "Version", "1.0")
    data_supplier = _add(root, "DataSupplier")
    _add(data_supplier, "Name", supplier)
    _add(data_supplier, "Location", location)
    _add(data_supplier, "Comment", comment)
    media = _add(root, "Media")
    _add(media, "Name", f"Datenträgerüberlassung {year.year}")
    for table in layout.TABLES:
        _table(media, table, year)
    return bytes(
        etree.tostring(
            etree.ElementTree(root),
            xml_declaration=True,
            encoding="UTF-8",
            pretty_print=True,
            doctype=f'<!DOCTYPE DataSet SYSTEM "{layout.DTD_NAME}">',
        )
    )
