"""`faktura demo`: a realistic German company with customers, products and invoices (idempotent)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from faktura.catalog.models import Product, TaxRate
from faktura.core import clock
from faktura.core.actors import Actor
from faktura.core.models import BankAccount, Company
from faktura.core.roles import ensure_roles
from faktura.customers.models import Customer
from faktura.customers.services import create_customer
from faktura.invoicing import services as invoicing
from faktura.invoicing.drafting import LineRequest
from faktura.invoicing.models import Invoice
from faktura.sales.services import place_order
from faktura.subscriptions.demo import DemoSubscriptions
from faktura.subscriptions.models import Subscription

# username, password, superuser, roles; `faktura run` prints this list as the demo logins.
USERS = [
    ("admin", "faktura-admin", True, ()),
    ("buchhaltung", "faktura-demo", False, ("accountant",)),
    ("freigabe", "faktura-demo", False, ("approver",)),
    ("kasse", "faktura-demo", False, ("cashier",)),
    ("ansicht", "faktura-demo", False, ("viewer",)),
]
ROLE_NAMES = {
    "accountant": "Buchhaltung",
    "approver": "Freigabe",
    "cashier": "Kasse",
    "viewer": "Ansicht",
}


def demo_logins() -> list[str]:
    """``user / password (role)`` for each demo login."""
    return [
        f"{username} / {password} ({'alle Rechte' if superuser else ROLE_NAMES[roles[0]]})"
        for username, password, superuser, roles in USERS
    ]


PRODUCTS = [
    (
        "ABO-BASIS",
        "Mitgliedschaft Basis",
        "Monatliche Mitgliedschaft, alle Grundkurse",
        "MON",
        "net",
        "29.0000",
        "de-19",
        False,
    ),
    (
        "ABO-PRO",
        "Mitgliedschaft Pro",
        "Monatliche Mitgliedschaft inkl. Live-Sessions",
        "MON",
        "net",
        "59.0000",
        "de-19",
        False,
    ),
    (
        "KURS-PY",
        "Online-Kurs Python für Einsteiger",
        "12 Lektionen, Zertifikat",
        "C62",
        "gross",
        "149.0000",
        "de-19",
        False,
    ),
    (
        "KURS-XL",
        "Online-Kurs Excel im Büro",
        "8 Lektionen",
        "C62",
        "gross",
        "79.0000",
        "de-19",
        False,
    ),
    (
        "BERATUNG",
        "Beratung",
        "Individuelle Beratung nach Aufwand",
        "HUR",
        "net",
        "120.0000",
        "de-19",
        False,
    ),
    (
        "WORKSHOP",
        "Inhouse-Workshop",
        "Ganztägiger Workshop vor Ort",
        "DAY",
        "net",
        "1450.0000",
        "de-19",
        False,
    ),
    (
        "BUCH-1",
        "Handbuch Buchhaltung (Print)",
        "Fachbuch, 320 Seiten",
        "C62",
        "gross",
        "39.9000",
        "de-7",
        True,
    ),
    (
        "EBOOK-1",
        "Handbuch Buchhaltung (E-Book)",
        "PDF und EPUB",
        "C62",
        "gross",
        "29.9000",
        "de-7",
        False,
    ),
    ("TASSE", "Kaffeetasse mit Logo", "Steingut, 300 ml", "C62", "gross", "12.5000", "de-19", True),
]
# Goods (Lieferungen); everything else is a service: memberships, courses, consulting,
# workshops, and the e-book (an electronically supplied service, § 3a (5) UStG).
GOODS = {"BUCH-1", "TASSE"}

FIRST = [
    "Anna",
    "Jonas",
    "Lea",
    "Lukas",
    "Mia",
    "Felix",
    "Emma",
    "Paul",
    "Sophie",
    "Leon",
    "Hannah",
    "Elias",
    "Marie",
    "Noah",
    "Lina",
    "Ben",
    "Clara",
    "Finn",
    "Ida",
    "Moritz",
]
LAST = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
]
FIRMS = [
    "Bäckerei Sonnenschein",
    "Autohaus Nord",
    "Praxis am Markt",
    "Kanzlei Recht & Rat",
    "Gärtnerei Grünblick",
    "Druckerei Letter",
    "Bistro Eck",
    "Ingenieurbüro Statik",
    "Tischlerei Holzwerk",
    "Agentur Pixel",
    "Hotel Seeblick",
    "Elektro Funke",
]
FORMS = ["GmbH", "GmbH & Co. KG", "e.K.", "UG (haftungsbeschränkt)", "AG", "OHG"]
CITIES = [
    ("10115", "Berlin"),
    ("20095", "Hamburg"),
    ("80331", "München"),
    ("50667", "Köln"),
    ("60311", "Frankfurt am Main"),
    ("70173", "Stuttgart"),
    ("40213", "Düsseldorf"),
    ("04109", "Leipzig"),
    ("28195", "Bremen"),
    ("01067", "Dresden"),
]
STREETS = [
    "Hauptstraße",
    "Bahnhofstraße",
    "Gartenweg",
    "Schillerstraße",
    "Lindenallee",
    "Am Markt",
    "Goethestraße",
    "Ringstraße",
]
# Valid example VAT IDs (format and check digit), used for business customers.
VAT_IDS = ["DE136695976", "DE129273398", "DE811569869", "DE811907980", "DE812526315"]
FOREIGN = [("ATU13585627", "AT", "1010", "Wien"), ("FR40303265045", "FR", "75001", "Paris")]


class Command(BaseCommand):
    help = "Load demo data: a German company, 50 customers, products and invoices in every state."

    def handle(self, *args: Any, **options: Any) -> None:
        rng = random.Random(2026)  # noqa: S311 - repeatable demo data, not secrets
        ensure_roles()
        self._users()
        actor = Actor(label="user:buchhaltung", roles=frozenset({"accountant"}))
        approver = Actor(label="user:freigabe", roles=frozenset({"approver"}))
        with transaction.atomic():
            self._company()
            self._products()
        customers = self._customers(rng, actor)
        subscriptions = self._subscriptions(customers, actor)
        created = self._invoices(rng, customers, actor, approver, subscriptions)
        if subscriptions is not None:
            subscriptions.finish()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {Customer.objects.count()} customers, "
                f"{Product.objects.count()} products, {Invoice.objects.count()} documents "
                f"({created} new), {Subscription.objects.count()} subscriptions."
            )
        )

    def _pay(self, invoice: Invoice, amount: Decimal, day: dt.date, actor: Actor) -> None:
        from faktura.payments.services import allocate_payment, record_payment

        payment = record_payment(
            actor=actor,
            amount=amount,
            date=day,
            method="transfer",
            source="manual",
            reference=f"{invoice.number} Danke",
            payer_name=invoice.buyer.get("name", ""),
            customer_id=invoice.customer_id,
            external_id=f"demo-{invoice.number}",
        )
        allocate_payment(payment_id=payment.pk, allocations=[(invoice.pk, amount)], actor=actor)

    def _users(self) -> None:
        user_model = get_user_model()
        for username, password, superuser, roles in USERS:
            user, created = user_model.objects.get_or_create(
                username=username,
                defaults={
                    "is_staff": True,
                    "is_superuser": superuser,
                    "email": f"{username}@muster-software.de",
                },
            )
            if created:
                user.set_password(password)
                user.save()
            user.groups.set(Group.objects.filter(name__in=roles))

    def _company(self) -> None:
        if Company.objects.exists():
            return
        company = Company(
            legal_name="Muster Akademie GmbH",
            legal_form="GmbH",
            street="Friedrichstraße",
            house_number="123",
            postcode="10117",
            city="Berlin",
            register_court="Amtsgericht Berlin-Charlottenburg",
            register_number="HRB 123456 B",
            managing_directors="Erika Mustermann, Dr. Hans Beispiel",
            tax_number="30/123/45678",
            vat_id="DE136695976",
            creditor_id="DE98ZZZ09999999999",
            email="rechnung@muster-akademie.de",
            phone="+49 30 1234567-0",
            website="www.muster-akademie.de",
            contact_name="Erika Mustermann",
            payment_term_days=14,
            early_payment_discount_days=7,
            early_payment_discount_percent=Decimal("2.00"),
            approval_threshold=Decimal("5000.00"),
            approval_for_manual_invoices=True,
        )
        company.full_clean()
        company.save()
        account = BankAccount(
            company=company,
            bank_name="Berliner Volksbank",
            account_holder=company.legal_name,
            iban="DE02120300000000202051",
            bic="BYLADEM1001",
            is_default=True,
        )
        account.full_clean()
        account.save()

    def _products(self) -> None:
        rates = {t.code: t for t in TaxRate.objects.all()}
        for sku, name, description, unit, mode, price, rate, stock in PRODUCTS:
            Product.objects.get_or_create(
                sku=sku,
                defaults={
                    "name": name,
                    "description": description,
                    "unit_code": unit,
                    "price_mode": mode,
                    "unit_price": Decimal(price),
                    "tax_rate": rates[rate],
                    "kind": "goods" if sku in GOODS else "service",
                    "track_stock": stock,
                    "stock_level": Decimal(500 if stock else 0),
                    "low_stock_threshold": Decimal(20) if stock else None,
                },
            )

    def _customers(self, rng: random.Random, actor: Actor) -> list[Customer]:
        customers = []
        for index in range(50):
            email = f"kunde{index + 1:02d}@example.org"
            existing = Customer.objects.filter(email=email).first()
            if existing:
                customers.append(existing)
                continue
            postcode, city = rng.choice(CITIES)
            fields: dict[str, Any] = {
                "email": email,
                "street": rng.choice(STREETS),
                "house_number": str(rng.randint(1, 120)),
                "postcode": postcode,
                "city": city,
                "preferred_payment_method": rng.choice(
                    ["transfer", "transfer", "direct_debit", "provider"]
                ),
            }
            if index % 10 == 9:
                fields.update(
                    kind="public_body",
                    name=f"Stadtverwaltung {city}",
                    leitweg_id="04011000-1234512345-06",
                    preferred_payment_method="transfer",
                )
            elif index % 10 == 8:
                vat, country, postcode, city = FOREIGN[index % 2]
                fields.update(
                    kind="business",
                    name=f"{rng.choice(FIRMS)} {rng.choice(FORMS)}",
                    vat_id=vat,
                    country=country,
                    postcode=postcode,
                    city=city,
                    language="en",
                )
            elif index % 2 == 0:
                fields.update(
                    kind="business",
                    name=f"{rng.choice(FIRMS)} {rng.choice(FORMS)}",
                    vat_id=rng.choice(VAT_IDS),
                    contact_name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                )
            else:
                fields.update(kind="consumer", name=f"{rng.choice(FIRST)} {rng.choice(LAST)}")
            if index == 7:
                fields.update(dunning_block=True, dunning_block_reason="Reklamation in Klärung")
            customers.append(create_customer(actor=actor, **fields))
        for customer in customers:
            self._mandate(customer, actor)
        return customers

    def _mandate(self, customer: Customer, actor: Actor) -> None:
        """Direct-debit payers get a signed CORE mandate, so `faktura sepa-batch` has work."""
        from schwifty import IBAN

        from faktura.collection.models import Mandate
        from faktura.collection.services import create_mandate

        if customer.preferred_payment_method != "direct_debit":
            return
        if Mandate.objects.filter(customer=customer).exists():
            return
        iban = IBAN.generate("DE", bank_code="10020030", account_code=f"{customer.pk:010d}")
        create_mandate(
            customer_id=customer.pk,
            actor=actor,
            iban=str(iban),
            signature_date=clock.today() - dt.timedelta(days=150),
        )

    def _subscriptions(self, customers: list[Customer], actor: Actor) -> DemoSubscriptions | None:
        """The subscription demo, or None once loaded.

        Its history (billing runs on past days) is interleaved with the orders, so it is
        only written together with them: added to an older demo database, the
        subscriptions start in the past and the next `faktura billing-run` catches up.
        """
        if DemoSubscriptions.loaded():
            return None
        history = not Invoice.objects.filter(order__external_reference="demo-0001").exists()
        demo = DemoSubscriptions(today=clock.today(), actor=actor, history=history)
        demo.prepare(customers)
        return demo

    def _invoices(
        self,
        rng: random.Random,
        customers: list[Customer],
        actor: Actor,
        approver: Actor,
        subscriptions: DemoSubscriptions | None = None,
    ) -> int:
        created = 0
        skus = [p[0] for p in PRODUCTS]
        start = clock.today() - dt.timedelta(days=120)
        for index in range(120):
            reference = f"demo-{index + 1:04d}"
            customer = customers[index % len(customers)]
            day = start + dt.timedelta(days=index)
            if subscriptions is not None:
                subscriptions.on_day(day)
            if Invoice.objects.filter(order__external_reference=reference).exists():
                continue
            lines = [
                LineRequest(sku=rng.choice(skus), quantity=str(rng.randint(1, 4)))
                for _ in range(rng.randint(1, 4))
            ]
            if customer.country != "DE":
                # A business in the EU: the workshop (a service) is reverse charge (AE), the
                # book (goods) an intra-community supply (K); Faktura decides by the kind.
                lines = [LineRequest(sku="WORKSHOP", quantity="1")]
                if index % 4 == 0:
                    lines.append(LineRequest(sku="BUCH-1", quantity="2"))
            with clock.frozen(dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC)):
                invoice = place_order(
                    customer_id=customer.pk,
                    actor=actor,
                    lines=lines,
                    external_reference=reference,
                    source="backoffice" if index % 15 == 14 else "api",
                )
                created += 1
                state = index % 12
                if invoice.status == "pending_approval":
                    if state % 2:
                        invoicing.approve_invoice(invoice_id=invoice.pk, actor=approver)
                    elif state % 3 == 0:
                        invoicing.reject_invoice(
                            invoice_id=invoice.pk, actor=approver, reason="Preise bitte prüfen"
                        )
                    continue
                if state == 10:
                    continue  # stays a draft
                invoice = invoicing.finalize_invoice(invoice_id=invoice.pk, actor=actor)
                if state == 9:
                    invoicing.cancel_invoice(
                        invoice_id=invoice.pk, actor=actor, reason="Doppelt erfasst"
                    )
                elif state == 8:
                    credit = invoicing.create_credit_note(
                        invoice_id=invoice.pk,
                        actor=actor,
                        lines=[(1, "1")],
                        reason="Rückgabe eines Artikels",
                    )
                    invoicing.finalize_invoice(invoice_id=credit.pk, actor=actor)
                elif state in (0, 1, 2, 3, 4):
                    # Paid in full, or half paid; states 5-7 stay open (the older ones overdue).
                    share = invoice.grand_total if state < 4 else invoice.grand_total / 2
                    self._pay(invoice, share.quantize(Decimal("0.01")), day, actor)
        return created
