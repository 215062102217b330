"""Validate a CII or UBL e-invoice offline, the way the KoSIT validator chains its steps.

1. well-formed XML with a known root (rule id ``XML-WELLFORMED``),
2. XSD (rule id ``XSD``; the chain stops here when it fails, like KoSIT's scenarios),
3. the CEN EN 16931 schematron,
4. for XRechnung (guideline contains "xrechnung"): the KoSIT XRechnung 3.0.2 schematron.

Schematron findings come from SVRL: ``failed-assert`` and ``successful-report`` with flag
fatal/error (or none) are errors, warning/information are warnings.

Performance: one Saxon processor per process, each stylesheet compiled once, lazily
(~1 s for all four), then a few milliseconds per document; the document is parsed once into
an XdmNode and handed to every stylesheet. Each official stylesheet is imported unchanged
into a small wrapper (``_FINDINGS_ONLY``) that runs it and keeps only the failed asserts
and successful reports it wrote. The full SVRL of a valid invoice is ~20 KB of
fired rules and active patterns; serializing it in Saxon and parsing it again in Python
cost ~0.8 ms per document, about a fifth of the whole check.
The cache is keyed by process id, so a forked worker builds its own processor instead of
using the parent's Graal isolate. A compiled executable holds per-call state, so calls to
one executable are serialized by a lock.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from lxml import etree

from faktura.documents.einvoice.rules import RuleSet, Schema, path_of

if TYPE_CHECKING:
    from saxonche import PySaxonProcessor

Syntax = Literal["cii", "ubl"]

NS_CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NS_RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
NS_UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS_SVRL = "http://purl.oclc.org/dsdl/svrl"

ROOTS: dict[str, tuple[Syntax, Schema | None]] = {
    f"{{{NS_CII}}}CrossIndustryInvoice": ("cii", None),
    f"{{{NS_UBL_INVOICE}}}Invoice": ("ubl", Schema.UBL_INVOICE),
    f"{{{NS_UBL_CREDIT_NOTE}}}CreditNote": ("ubl", Schema.UBL_CREDIT_NOTE),
}
ERROR_FLAGS = frozenset({"fatal", "error", ""})
XRECHNUNG_RULES = frozenset({RuleSet.XRECHNUNG_CII, RuleSet.XRECHNUNG_UBL})

RULE_WELLFORMED = "XML-WELLFORMED"
RULE_XSD = "XSD"
RULE_RUNTIME = "VALIDATOR-RUNTIME"


@dataclass(frozen=True)
class Finding:
    """One failed rule: its id (e.g. ``BR-CO-15``), flag, XPath location and message."""

    rule_id: str
    flag: str
    location: str
    text: str
    source: str  # "xml", "xsd", "en16931", "xrechnung"


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of ``validate``: errors reject the document, warnings do not."""

    syntax: Syntax | None
    xrechnung: bool
    errors: tuple[Finding, ...] = ()
    warnings: tuple[Finding, ...] = ()
    steps: tuple[str, ...] = field(default=())  # the steps that ran, in order

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rule_ids(self) -> frozenset[str]:
        """The ids of the failed rules (errors only)."""
        return frozenset(f.rule_id for f in self.errors)

    @property
    def warning_ids(self) -> frozenset[str]:
        return frozenset(f.rule_id for f in self.warnings)

    def summary(self) -> str:
        """Return one line per error, for logs and assertion messages."""
        return "\n".join(f"{f.rule_id} [{f.flag}] {f.location}: {f.text}" for f in self.errors)


# -- Saxon engine: one per process, stylesheets compiled lazily -------------------------

# Runs the imported official stylesheet (its own template for the document node, through
# xsl:apply-imports) and copies out only what ``_parse_svrl`` reads. The SVRL root is copied
# only when the rules produced one, so a stylesheet that returns no report is still caught.
_FINDINGS_ONLY = """\
<xsl:stylesheet version="3.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:svrl="http://purl.oclc.org/dsdl/svrl">
  <xsl:import href="{official}"/>
  <xsl:output method="xml" indent="no"/>
  <xsl:template match="/">
    <xsl:variable name="report">
      <xsl:apply-imports/>
    </xsl:variable>
    <xsl:for-each select="$report/svrl:schematron-output">
      <xsl:copy>
        <xsl:copy-of select="svrl:failed-assert | svrl:successful-report"/>
      </xsl:copy>
    </xsl:for-each>
  </xsl:template>
</xsl:stylesheet>
"""


class _Engine:
    def __init__(self) -> None:
        from saxonche import PySaxonProcessor

        self.processor: PySaxonProcessor = PySaxonProcessor(license=False)
        self._xslt = self.processor.new_xslt30_processor()
        self._executables: dict[RuleSet, tuple[Any, threading.Lock]] = {}
        self._compile_lock = threading.Lock()
        self.parse_lock = threading.Lock()

    def executable(self, rules: RuleSet) -> tuple[Any, threading.Lock]:
        found = self._executables.get(rules)
        if found is None:
            with self._compile_lock:
                found = self._executables.get(rules)
                if found is None:
                    wrapper = _FINDINGS_ONLY.format(official=path_of(rules).as_uri())
                    compiled = self._xslt.compile_stylesheet(stylesheet_text=wrapper)
                    if compiled is None:  # pragma: no cover - saxonche reports via exception
                        raise RuntimeError(f"cannot compile {rules.name}")
                    found = (compiled, threading.Lock())
                    self._executables[rules] = found
        return found


_engines: dict[int, _Engine] = {}
_engines_lock = threading.Lock()


def _engine() -> _Engine:
    pid = os.getpid()
    engine = _engines.get(pid)
    if engine is None:
        with _engines_lock:
            engine = _engines.get(pid)
            if engine is None:
                # A forked child keeps the parent's engine referenced but unused: tearing
                # down a Graal isolate it did not create is what breaks after fork.
                engine = _Engine()
                _engines[pid] = engine
    return engine


_schemas: dict[Schema, etree.XMLSchema] = {}
_schemas_lock = threading.Lock()


def _reset_locks_after_fork() -> None:
    """Give a forked child fresh locks: a parent thread may have held one at fork time."""
    global _engines_lock, _schemas_lock
    _engines_lock = threading.Lock()
    _schemas_lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_locks_after_fork)


def _schema(which: Schema) -> etree.XMLSchema:
    schema = _schemas.get(which)
    if schema is None:
        with _schemas_lock:
            schema = _schemas.get(which)
            if schema is None:
                schema = etree.XMLSchema(etree.parse(str(path_of(which))))
                _schemas[which] = schema
    return schema


def warm_up(*, xrechnung: bool = True) -> None:
    """Load every schema and compile every stylesheet now (e.g. at worker start)."""
    engine = _engine()
    for rules in RuleSet:
        if xrechnung or rules not in XRECHNUNG_RULES:
            engine.executable(rules)
    for schema in Schema:
        _schema(schema)


# -- the chain -----------------------------------------------------------------------------

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def validate(
    xml: bytes,
    *,
    syntax: Syntax | None = None,
    xrechnung: bool | None = None,
) -> ValidationReport:
    """Validate ``xml`` (CII or UBL) by XSD, EN 16931 and, for XRechnung, KoSIT rules.

    ``syntax`` and ``xrechnung`` are detected from the root element and the guideline
    (BT-24) unless given. Never raises for bad input: it is reported as a finding.
    """
    try:
        root = etree.fromstring(xml, _PARSER)
    except (etree.XMLSyntaxError, ValueError, TypeError) as exc:
        return ValidationReport(
            syntax=syntax,
            xrechnung=bool(xrechnung),
            errors=(Finding(RULE_WELLFORMED, "fatal", "/", f"Not well-formed XML: {exc}", "xml"),),
            steps=("xml",),
        )
    if root.getroottree().docinfo.doctype:
        # No e-invoice has a DTD; refusing it keeps entity tricks away from the Saxon parser.
        return ValidationReport(
            syntax=syntax,
            xrechnung=bool(xrechnung),
            errors=(Finding(RULE_WELLFORMED, "fatal", "/", "A DOCTYPE is not allowed.", "xml"),),
            steps=("xml",),
        )
    detected = ROOTS.get(root.tag)
    if detected is None or (syntax is not None and detected[0] != syntax):
        expected = syntax or "CII or UBL"
        message = f"The root element {root.tag} is not a {expected} invoice or credit note."
        return ValidationReport(
            syntax=syntax,
            xrechnung=bool(xrechnung),
            errors=(Finding(RULE_XSD, "fatal", "/", message, "xsd"),),
            steps=("xml",),
        )
    actual_syntax, ubl_schema = detected
    spec_id = _specification_id(root, actual_syntax)
    if xrechnung is None:
        xrechnung = "xrechnung" in spec_id.lower()
    # Factur-X EXTENDED invoices need the wider EXTENDED schema; everything else is checked
    # against the EN 16931 CII schema (the CEN D16B schema itself is not on PyPI).
    extended = "extended" in spec_id.lower()
    schema = ubl_schema or (Schema.CII_EXTENDED if extended else Schema.CII_EN16931)

    xsd_errors = _check_xsd(root, schema)
    if xsd_errors:
        return ValidationReport(actual_syntax, xrechnung, xsd_errors, (), ("xml", "xsd"))

    chain = [RuleSet.EN16931_CII if actual_syntax == "cii" else RuleSet.EN16931_UBL]
    if xrechnung:
        chain.append(RuleSet.XRECHNUNG_CII if actual_syntax == "cii" else RuleSet.XRECHNUNG_UBL)
    errors, warnings, steps = _run_schematron(xml, root, chain)
    return ValidationReport(actual_syntax, xrechnung, errors, warnings, ("xml", "xsd", *steps))


def _run_schematron(
    xml: bytes, root: etree._Element, chain: list[RuleSet]
) -> tuple[tuple[Finding, ...], tuple[Finding, ...], tuple[str, ...]]:
    """Run each compiled schematron on one parsed XdmNode; return errors, warnings, steps."""
    errors: list[Finding] = []
    warnings: list[Finding] = []
    steps: list[str] = []
    try:
        engine = _engine()
        with engine.parse_lock:
            node = engine.processor.parse_xml(xml_text=_as_text(xml, root))
    except Exception as exc:  # saxonche raises its own PySaxonApiError and friends
        errors.append(Finding(RULE_RUNTIME, "fatal", "/", f"Saxon could not load: {exc}", "xml"))
        return tuple(errors), (), ()
    for rules in chain:
        source = "xrechnung" if rules in XRECHNUNG_RULES else "en16931"
        steps.append(source)
        try:
            executable, lock = engine.executable(rules)
            with lock:
                svrl = executable.transform_to_string(xdm_node=node)
            findings = _parse_svrl(svrl, source)
        except Exception as exc:  # a dynamic XSLT error must not pass as "valid"
            message = f"{rules.name} could not run: {exc}"
            errors.append(Finding(RULE_RUNTIME, "fatal", "/", message, source))
            continue
        for finding in findings:
            (errors if finding.flag in ERROR_FLAGS else warnings).append(finding)
    return tuple(errors), tuple(warnings), tuple(steps)


def _as_text(xml: bytes, root: etree._Element) -> str:
    """Return the document as str for Saxon (decoded directly when it is UTF-8)."""
    encoding = (root.getroottree().docinfo.encoding or "UTF-8").upper()
    if encoding in ("UTF-8", "UTF8"):
        return xml.decode("utf-8-sig")
    return str(etree.tostring(root, encoding="unicode"))


def _specification_id(root: etree._Element, syntax: Syntax) -> str:
    """BT-24: CII guideline parameter or UBL CustomizationID."""
    if syntax == "cii":
        path = (
            f"{{{NS_CII}}}ExchangedDocumentContext/"
            f"{{{NS_RAM}}}GuidelineSpecifiedDocumentContextParameter/{{{NS_RAM}}}ID"
        )
    else:
        path = f"{{{NS_CBC}}}CustomizationID"
    return (root.findtext(path) or "").strip()


def _check_xsd(root: etree._Element, which: Schema) -> tuple[Finding, ...]:
    schema = _schema(which)
    with _schemas_lock:  # an XMLSchema keeps its error log per instance
        valid = schema.validate(root)
        log = list(schema.error_log) if not valid else []
    return tuple(
        Finding(RULE_XSD, "fatal", f"line {entry.line}", entry.message, "xsd") for entry in log
    )


def _parse_svrl(svrl: str | None, source: str) -> list[Finding]:
    """Read the findings of a (findings-only) SVRL report; raise if there is no report."""
    report = etree.fromstring(svrl.encode("utf-8"), _PARSER) if svrl else None
    if report is None or report.tag != f"{{{NS_SVRL}}}schematron-output":
        raise RuntimeError("the stylesheet returned no report")
    return [
        Finding(
            rule_id=element.get("id") or "",
            flag=(element.get("flag") or "").lower(),
            location=element.get("location") or "",
            text=" ".join((element.findtext(f"{{{NS_SVRL}}}text") or "").split()),
            source=source,
        )
        for element in report.iter(f"{{{NS_SVRL}}}failed-assert", f"{{{NS_SVRL}}}successful-report")
    ]
