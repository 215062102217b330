"""Three default dunning policies (consumers, businesses, public bodies).

Common German practice, product defaults rather than law: a friendly payment reminder
without a fee 7 days after the due date, then three notices 14 days apart. Consumers pay
only actual costs for notices after default began (2.50 EUR: paper and postage); businesses
and public bodies pay no fee but the EUR 40 flat fee of § 288 (5) BGB, once per claim, with
the first notice. Interest (§ 288 BGB) from the first notice on. Notices to public bodies
are reviewed by a person before they go out, and wait longer.

Texts are ``string.Template`` texts; placeholders: $customer_name, $items, $principal,
$fees, $interest, $return_fees, $total, $deadline, $company, $bank.
"""

from decimal import Decimal

from django.db import migrations

_ITEMS_DE = (
    "Guten Tag $customer_name,\n\n"
    "{intro}\n\n$items\n\n"
    "Offene Rechnungsbeträge: $principal EUR\n"
    "Mahngebühren: $fees EUR\nVerzugszinsen: $interest EUR\n"
    "Rücklastschriftkosten: $return_fees EUR\n"
    "Gesamt: $total EUR\n\n"
    "Bitte überweisen Sie den Betrag bis zum $deadline auf folgendes Konto:\n$bank\n\n"
    "Sollten Sie inzwischen gezahlt haben, betrachten Sie dieses Schreiben als gegenstandslos. "
    "Bei Fragen oder Einwänden antworten Sie bitte auf diese E-Mail.\n\n"
    "Mit freundlichen Grüßen\n$company"
)
_ITEMS_EN = (
    "Dear $customer_name,\n\n"
    "{intro}\n\n$items\n\n"
    "Open invoice amounts: $principal EUR\n"
    "Dunning fees: $fees EUR\nDefault interest: $interest EUR\n"
    "Returned debit costs: $return_fees EUR\n"
    "Total: $total EUR\n\n"
    "Please transfer the amount by $deadline to this account:\n$bank\n\n"
    "If you have paid in the meantime, please disregard this letter. "
    "For questions or objections, please reply to this e-mail.\n\n"
    "Kind regards\n$company"
)
LEVELS = [
    # number, name, subject de, intro de, subject en, intro en
    (
        0,
        "Zahlungserinnerung",
        "Zahlungserinnerung",
        "sicher ist es Ihrer Aufmerksamkeit entgangen: die folgenden Rechnungen sind noch offen.",
        "Payment reminder",
        "you may have overlooked it: the following invoices are still open.",
    ),
    (
        1,
        "1. Mahnung",
        "1. Mahnung",
        "leider konnten wir zu den folgenden Rechnungen noch keinen Zahlungseingang feststellen.",
        "First reminder",
        "we have not yet received payment for the following invoices.",
    ),
    (
        2,
        "2. Mahnung",
        "2. Mahnung",
        "trotz unserer Mahnung sind die folgenden Rechnungen weiterhin offen.",
        "Second reminder",
        "despite our reminder, the following invoices are still open.",
    ),
    (
        3,
        "Letzte Mahnung",
        "Letzte Mahnung",
        "die folgenden Rechnungen sind trotz wiederholter Mahnung offen. Geht die Zahlung "
        "nicht fristgerecht ein, übergeben wir die Forderung ohne weitere Ankündigung an ein "
        "Inkassounternehmen oder beantragen einen gerichtlichen Mahnbescheid.",
        "Final reminder",
        "the following invoices are still open despite repeated reminders. If payment is "
        "not received in time, we will hand the claim over to a collection agency or apply "
        "for a court order for payment without further notice.",
    ),
]
POLICIES = [
    # name, default, kinds, first days, later days, review, consumer fee
    ("Verbraucher", True, ["consumer"], 7, 14, False, Decimal("2.50")),
    ("Unternehmen", False, ["business"], 7, 14, False, Decimal("0.00")),
    ("Öffentliche Auftraggeber", False, ["public_body"], 14, 21, True, Decimal("0.00")),
]


def add_policies(apps, schema_editor):
    Policy = apps.get_model("dunning", "DunningPolicy")
    Level = apps.get_model("dunning", "DunningLevel")
    for name, default, kinds, first, later, review, fee in POLICIES:
        policy, created = Policy.objects.get_or_create(
            name=name, defaults={"is_default": default, "customer_kinds": kinds}
        )
        if not created:
            continue
        for number, level_name, subject_de, intro_de, subject_en, intro_en in LEVELS:
            Level.objects.create(
                policy=policy,
                number=number,
                name=level_name,
                days=first if number == 0 else later,
                fee_consumer=fee if number > 0 else Decimal("0.00"),
                fee_business=Decimal("0.00"),
                flat_fee=number == 1,
                interest=number > 0,
                minimum_open_amount=Decimal("5.00"),
                review_required=review,
                deadline_days=7 if number == 0 else 10,
                subject_de=subject_de,
                text_de=_ITEMS_DE.replace("{intro}", intro_de),
                subject_en=subject_en,
                text_en=_ITEMS_EN.replace("{intro}", intro_en),
            )


def remove_policies(apps, schema_editor):
    Policy = apps.get_model("dunning", "DunningPolicy")
    Policy.objects.filter(name__in=[p[0] for p in POLICIES]).delete()


class Migration(migrations.Migration):
    dependencies = [("dunning", "0002_base_rates")]

    operations = [migrations.RunPython(add_policies, remove_policies)]
