"""Plans, courses, subscriptions and what the daily billing run bills of them.

What was billed is recorded row by row: a ``BilledPeriod`` per subscription period (unique
on subscription and period start, so the database itself refuses a second invoice for a
period) and a ``Charge`` per one-off amount (set-up fee, course instalment, proration,
anything staff add), which points to the invoice that billed it. A run that finds these
rows written has nothing left to do for them: that is what makes it idempotent.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from faktura.subscriptions import terms
from faktura.subscriptions.periods import Interval, Timing

_MONEY: dict = {"max_digits": 14, "decimal_places": 2}
_PRICE: dict = {"max_digits": 14, "decimal_places": 4}


class PriceMode(models.TextChoices):
    NET = "net", _("netto")
    GROSS = "gross", _("brutto")


class Plan(models.Model):
    """A product sold per interval: a membership, a subscription."""

    class IntervalChoice(models.TextChoices):
        WEEK = Interval.WEEK.value, _("Woche")
        MONTH = Interval.MONTH.value, _("Monat")
        QUARTER = Interval.QUARTER.value, _("Quartal")
        HALF_YEAR = Interval.HALF_YEAR.value, _("Halbjahr")
        YEAR = Interval.YEAR.value, _("Jahr")

    class TimingChoice(models.TextChoices):
        IN_ADVANCE = Timing.IN_ADVANCE.value, _("im Voraus")
        IN_ARREARS = Timing.IN_ARREARS.value, _("nachträglich")

    class NoticeUnit(models.TextChoices):
        DAYS = terms.Unit.DAYS.value, _("Tage")
        MONTHS = terms.Unit.MONTHS.value, _("Monate")

    class AfterMinimumTerm(models.TextChoices):
        INDEFINITE = terms.AfterMinimumTerm.INDEFINITE.value, _("läuft unbefristet weiter")
        RENEWS = terms.AfterMinimumTerm.RENEWS.value, _("verlängert sich um die Verlängerungszeit")

    code = models.SlugField(_("Kürzel"), max_length=50, unique=True)
    name = models.CharField(_("Bezeichnung"), max_length=200)
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("Produkt"),
        help_text=_("Bestimmt Steuersatz, Einheit und Art der Leistung."),
    )
    interval = models.CharField(
        _("Abrechnungsintervall"), max_length=10, choices=IntervalChoice.choices
    )
    timing = models.CharField(
        _("Abrechnung"),
        max_length=10,
        choices=TimingChoice.choices,
        default=TimingChoice.IN_ADVANCE,
    )
    price = models.DecimalField(_("Preis je Intervall"), **_PRICE)
    price_mode = models.CharField(
        _("Preisangabe"), max_length=5, choices=PriceMode.choices, default=PriceMode.NET
    )
    setup_fee = models.DecimalField(_("Einrichtungsgebühr"), **_MONEY, default=Decimal("0.00"))
    trial_days = models.PositiveSmallIntegerField(_("Testtage"), default=0)
    minimum_term_months = models.PositiveSmallIntegerField(_("Mindestlaufzeit (Monate)"), default=0)
    notice_value = models.PositiveSmallIntegerField(_("Kündigungsfrist"), default=1)
    notice_unit = models.CharField(
        _("Einheit der Kündigungsfrist"),
        max_length=10,
        choices=NoticeUnit.choices,
        default=NoticeUnit.MONTHS,
    )
    after_minimum_term = models.CharField(
        _("Nach der Mindestlaufzeit"),
        max_length=12,
        choices=AfterMinimumTerm.choices,
        default=AfterMinimumTerm.INDEFINITE,
    )
    renewal_months = models.PositiveSmallIntegerField(_("Verlängerung (Monate)"), default=12)
    renewal_notice_days = models.PositiveSmallIntegerField(
        _("Verlängerungshinweis (Tage vorher)"),
        default=0,
        help_text=_("0: kein Hinweis. Üblich bei Jahresverträgen: 30."),
    )
    active = models.BooleanField(_("aktiv"), default=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Tarif")
        verbose_name_plural = _("Tarife")
        ordering: ClassVar = ["code"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(price__gte=0), name="plan_price_not_negative"),
            models.CheckConstraint(
                condition=Q(setup_fee__gte=0), name="plan_setup_fee_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def contract_terms(self) -> terms.ContractTerms:
        return terms.ContractTerms(
            minimum_term_months=self.minimum_term_months,
            notice=terms.Span(self.notice_value, terms.Unit(self.notice_unit)),
            after_minimum_term=terms.AfterMinimumTerm(self.after_minimum_term),
            renewal_months=self.renewal_months,
        )


class PriceChange(models.Model):
    """A scheduled new price of a plan from a date on, announced to the subscribers ahead.

    Where the contract needs the customer's consent (``needs_consent``), the new price
    applies to a subscription only if the customer confirmed it before the effective date;
    without consent the subscription keeps its price.
    """

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="price_changes")
    effective_from = models.DateField(_("gültig ab"))
    price = models.DecimalField(_("neuer Preis"), **_PRICE)
    needs_consent = models.BooleanField(_("Zustimmung erforderlich"), default=False)
    notice_days = models.PositiveSmallIntegerField(_("Ankündigung (Tage vorher)"), default=42)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)

    class Meta:
        verbose_name = _("Preisänderung")
        verbose_name_plural = _("Preisänderungen")
        ordering: ClassVar = ["plan", "effective_from"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["plan", "effective_from"], name="one_price_change_per_day"
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="price_change_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.plan}: {self.price} ab {self.effective_from}"

    @property
    def announce_on(self) -> dt.date:
        return self.effective_from - dt.timedelta(days=self.notice_days)


class Course(models.Model):
    """A course with fixed dates, invoiced once at booking or in instalments on fixed dates."""

    code = models.SlugField(_("Kürzel"), max_length=50, unique=True)
    name = models.CharField(_("Bezeichnung"), max_length=200)
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="+", verbose_name=_("Produkt")
    )
    price = models.DecimalField(_("Preis"), **_MONEY)
    price_mode = models.CharField(
        _("Preisangabe"), max_length=5, choices=PriceMode.choices, default=PriceMode.GROSS
    )
    starts_on = models.DateField(_("Beginn"))
    ends_on = models.DateField(_("Ende"))
    active = models.BooleanField(_("aktiv"), default=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Kurs")
        verbose_name_plural = _("Kurse")
        ordering: ClassVar = ["starts_on", "code"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="course_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CourseInstalment(models.Model):
    """One instalment of a course's price; a course without any is invoiced at booking."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="instalments")
    number = models.PositiveSmallIntegerField(_("Rate"))
    due_on = models.DateField(_("fällig am"))
    amount = models.DecimalField(_("Betrag"), **_MONEY)

    class Meta:
        verbose_name = _("Kursrate")
        verbose_name_plural = _("Kursraten")
        ordering: ClassVar = ["course", "number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["course", "number"], name="unique_instalment_number"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="instalment_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.course} – {self.number}. Rate"


class PaymentMethod(models.TextChoices):
    TRANSFER = "transfer", _("Überweisung")
    DIRECT_DEBIT = "direct_debit", _("SEPA-Lastschrift")
    PROVIDER = "provider", _("Gespeicherte Zahlungsart (Stripe)")


class Subscription(models.Model):
    """A customer's contract on a plan, or a customer's booking of a course."""

    class Status(models.TextChoices):
        TRIALING = "trialing", _("Testphase")
        ACTIVE = "active", _("aktiv")
        PAUSED = "paused", _("pausiert")
        CANCELLING = "cancelling", _("gekündigt zum Laufzeitende")
        ENDED = "ended", _("beendet")

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="subscriptions",
        verbose_name=_("Kunde"),
    )
    plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscriptions",
        verbose_name=_("Tarif"),
    )
    course = models.ForeignKey(
        Course,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bookings",
        verbose_name=_("Kurs"),
    )
    quantity = models.DecimalField(_("Menge"), max_digits=14, decimal_places=4, default=1)
    status = models.CharField(
        _("Status"), max_length=12, choices=Status.choices, default=Status.ACTIVE
    )
    starts_on = models.DateField(_("Beginn"))
    trial_ends_on = models.DateField(_("Testphase bis"), null=True, blank=True)
    # Periods are counted from the anchor; a resume or an interval change sets a new one.
    billing_anchor = models.DateField(_("Abrechnungsstichtag"))
    # The first period (from the anchor) not billed yet; the BilledPeriod rows are the truth.
    next_period_index = models.PositiveIntegerField(default=0)
    # The earliest day something may be due (an index for the run, kept by every service and
    # the run via ``billing.next_billing_on``); None when nothing is due any more.
    next_billing_on = models.DateField(null=True, blank=True, db_index=True)
    ends_on = models.DateField(_("Vertragsende"), null=True, blank=True)
    notice_received_on = models.DateField(_("Kündigung erhalten am"), null=True, blank=True)
    paused_from = models.DateField(_("pausiert ab"), null=True, blank=True)
    # A change of plan or quantity waiting for the start of the next period.
    # Rarely set, never searched by: no index, so the run's updates of each subscription
    # maintain fewer of them.
    scheduled_plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    scheduled_quantity = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    scheduled_change_on = models.DateField(null=True, blank=True)
    payment_method = models.CharField(
        _("Zahlungsart"),
        max_length=20,
        choices=PaymentMethod.choices,
        default=PaymentMethod.TRANSFER,
    )
    mandate = models.ForeignKey(
        "collection.Mandate",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("SEPA-Mandat"),
        db_index=False,
    )
    saved_payment_method = models.ForeignKey(
        "payments.SavedPaymentMethod",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Gespeicherte Zahlungsart"),
        db_index=False,
    )
    external_reference = models.CharField(_("Externe Referenz"), max_length=100, blank=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Abonnement")
        verbose_name_plural = _("Abonnements")
        ordering: ClassVar = ["-id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=(Q(plan__isnull=False) & Q(course__isnull=True))
                | (Q(plan__isnull=True) & Q(course__isnull=False)),
                name="subscription_plan_or_course",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="subscription_quantity"),
            models.UniqueConstraint(
                fields=["external_reference"],
                condition=~Q(external_reference=""),
                name="unique_subscription_reference",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["status", "customer"])]

    def __str__(self) -> str:
        what = self.plan or self.course
        return f"{what} – {self.customer}"


class BilledPeriod(models.Model):
    """One billed period of a subscription: at most one, ever (the unique constraint)."""

    # Indexed by the unique constraint (subscription first); a second index would only
    # slow down the run's inserts.
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="billed_periods", db_index=False
    )
    period_start = models.DateField()
    period_end = models.DateField()
    period_index = models.PositiveIntegerField()
    # Draft invoices may be discarded in the review window: the period is then free again.
    invoice = models.ForeignKey(
        "invoicing.Invoice", on_delete=models.CASCADE, related_name="billed_periods"
    )
    run = models.ForeignKey(
        "subscriptions.BillingRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # runs are never deleted; not worth an index on 100,000s of rows
    )
    amount = models.DecimalField(**_MONEY)

    class Meta:
        verbose_name = _("Abgerechneter Zeitraum")
        verbose_name_plural = _("Abgerechnete Zeiträume")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["subscription", "period_start"], name="one_invoice_per_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id}: {self.period_start}–{self.period_end}"


class Charge(models.Model):
    """An amount billed once on a customer's next subscription invoice.

    Set-up fees, course instalments, the two lines of a proration, and one-off charges that
    staff add. A negative charge is a credit (the unused part of a period).
    """

    class Kind(models.TextChoices):
        ONE_OFF = "one_off", _("Einmalbetrag")
        SETUP_FEE = "setup_fee", _("Einrichtungsgebühr")
        INSTALMENT = "instalment", _("Kursrate")
        PRORATION_CREDIT = "proration_credit", _("Gutschrift für nicht genutzte Zeit")
        PRORATION_CHARGE = "proration_charge", _("Anteiliger Betrag")

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="charges"
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, null=True, blank=True, related_name="charges"
    )
    kind = models.CharField(_("Art"), max_length=20, choices=Kind.choices)
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="+", verbose_name=_("Produkt")
    )
    name = models.CharField(_("Bezeichnung"), max_length=200)
    quantity = models.DecimalField(_("Menge"), max_digits=14, decimal_places=4, default=1)
    unit_price = models.DecimalField(_("Einzelpreis"), **_PRICE)
    price_mode = models.CharField(max_length=5, choices=PriceMode.choices)
    service_start = models.DateField(null=True, blank=True)
    service_end = models.DateField(null=True, blank=True)
    due_on = models.DateField(_("abzurechnen ab"))
    # Course instalments: the instalment number, unique per booking.
    instalment = models.PositiveSmallIntegerField(null=True, blank=True)
    invoice = models.ForeignKey(
        "invoicing.Invoice",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subscription_charges",
    )
    # Credit settled by a credit note instead of an invoice line (setting "refund").
    credit_note = models.ForeignKey(
        "invoicing.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)

    class Meta:
        verbose_name = _("Einmalbetrag")
        verbose_name_plural = _("Einmalbeträge")
        ordering: ClassVar = ["due_on", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["subscription", "instalment"],
                condition=Q(instalment__isnull=False),
                name="one_charge_per_instalment",
            ),
            models.UniqueConstraint(
                fields=["subscription"],
                condition=Q(kind="setup_fee"),
                name="one_setup_fee_per_subscription",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["customer", "due_on"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.due_on})"


class Coupon(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent", _("Prozent")
        AMOUNT = "amount", _("Betrag")

    class Duration(models.TextChoices):
        ONCE = "once", _("einmal")
        REPEATING = "repeating", _("für mehrere Zeiträume")
        FOREVER = "forever", _("dauerhaft")

    code = models.SlugField(_("Code"), max_length=50, unique=True)
    name = models.CharField(_("Bezeichnung"), max_length=200)
    kind = models.CharField(_("Art"), max_length=10, choices=Kind.choices)
    value = models.DecimalField(_("Wert"), max_digits=12, decimal_places=2)
    duration = models.CharField(_("Dauer"), max_length=10, choices=Duration.choices)
    periods = models.PositiveSmallIntegerField(_("Anzahl Zeiträume"), null=True, blank=True)
    plans = models.ManyToManyField(
        Plan, blank=True, related_name="+", verbose_name=_("nur für Tarife")
    )
    redeemable_until = models.DateField(_("einlösbar bis"), null=True, blank=True)
    active = models.BooleanField(_("aktiv"), default=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Gutschein")
        verbose_name_plural = _("Gutscheine")
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(value__gt=0), name="coupon_value_positive"),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__lte=100), name="coupon_percent_max"
            ),
            models.CheckConstraint(
                condition=~Q(duration="repeating") | Q(periods__gt=0),
                name="coupon_repeating_has_periods",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def period_limit(self) -> int | None:
        if self.duration == self.Duration.ONCE:
            return 1
        if self.duration == self.Duration.REPEATING:
            return self.periods
        return None


class Discount(models.Model):
    """A coupon applied to a subscription; counts the periods it has reduced."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="discounts"
    )
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="discounts")
    periods_used = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Rabatt")
        verbose_name_plural = _("Rabatte")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["subscription"], name="one_discount_per_subscription")
        ]

    def __str__(self) -> str:
        return f"{self.coupon} – {self.subscription_id}"

    @property
    def exhausted(self) -> bool:
        limit = self.coupon.period_limit
        return limit is not None and self.periods_used >= limit


class BillingProfile(models.Model):
    """How a customer's subscriptions are invoiced, where it differs from the defaults."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="billing_profile"
    )
    invoice_per_subscription = models.BooleanField(_("eine Rechnung je Abonnement"), default=False)
    review_days = models.PositiveSmallIntegerField(
        _("Prüffrist (Tage)"),
        null=True,
        blank=True,
        help_text=_("Leer: die Prüffrist der Abrechnungseinstellungen."),
    )

    class Meta:
        verbose_name = _("Abrechnungsprofil")
        verbose_name_plural = _("Abrechnungsprofile")

    def __str__(self) -> str:
        return str(self.customer)


class BillingSettings(models.Model):
    """The one row of billing settings."""

    class NegativeProration(models.TextChoices):
        CREDIT = "credit", _("als Guthaben mit der nächsten Rechnung verrechnen")
        REFUND = "refund", _("per Rechnungskorrektur erstatten")

    review_days = models.PositiveSmallIntegerField(
        _("Prüffrist (Tage)"),
        default=0,
        help_text=_("Rechnungen eines Laufs warten so viele Tage als Entwurf. 0: sofort."),
    )
    negative_proration = models.CharField(
        _("Negative Verrechnung"),
        max_length=10,
        choices=NegativeProration.choices,
        default=NegativeProration.CREDIT,
    )
    trial_notice_days = models.PositiveSmallIntegerField(
        _("Hinweis vor Ende der Testphase (Tage)"), default=3
    )

    class Meta:
        verbose_name = _("Abrechnungseinstellungen")
        verbose_name_plural = _("Abrechnungseinstellungen")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)

    @classmethod
    def load(cls) -> BillingSettings:
        return cls.objects.order_by("pk").first() or cls()


class BillingRun(models.Model):
    """One billing run for a billing date: what it found, made and could not make."""

    class Status(models.TextChoices):
        RUNNING = "running", _("läuft")
        FINISHED = "finished", _("abgeschlossen")
        FAILED = "failed", _("abgebrochen")

    billing_date = models.DateField(_("Abrechnungsdatum"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.CharField(max_length=150)
    periods_found = models.PositiveIntegerField(default=0)
    charges_found = models.PositiveIntegerField(default=0)
    invoices_made = models.PositiveIntegerField(default=0)
    invoices_finalized = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    # A run in the workers: its chunks (customer ids), and which of them are done.
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("Abrechnungslauf")
        verbose_name_plural = _("Abrechnungsläufe")
        ordering: ClassVar = ["-id"]

    def __str__(self) -> str:
        return f"{self.billing_date} ({self.get_status_display()})"


class BillingIssue(models.Model):
    """A subscription a run could not bill: on the run and on the staff's to-do list."""

    run = models.ForeignKey(
        BillingRun, on_delete=models.CASCADE, related_name="issues", null=True, blank=True
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, null=True, blank=True, related_name="issues"
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    billing_date = models.DateField()
    code = models.CharField(max_length=50)
    message = models.TextField()
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Abrechnungsproblem")
        verbose_name_plural = _("Abrechnungsprobleme")
        ordering: ClassVar = ["-id"]

    def __str__(self) -> str:
        return f"{self.billing_date} {self.customer}: {self.message}"


class Notice(models.Model):
    """A notice sent to a subscriber (trial ending, renewal, price change): once each."""

    class Kind(models.TextChoices):
        TRIAL_ENDING = "trial_ending", _("Testphase endet")
        RENEWAL = "renewal", _("Verlängerung steht bevor")
        PRICE_CHANGE = "price_change", _("Preisänderung")

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The date the notice is about (trial end, renewal day, effective date of the price).
    about = models.DateField()
    price_change = models.ForeignKey(
        PriceChange, on_delete=models.CASCADE, null=True, blank=True, related_name="notices"
    )
    sent_at = models.DateTimeField()
    consented_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Hinweis an Abonnenten")
        verbose_name_plural = _("Hinweise an Abonnenten")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["subscription", "kind", "about"], name="one_notice_per_date"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.about}"


class CancellationRequest(models.Model):
    """A notice given with the cancellation button (§ 312k BGB), kept as it was submitted.

    Every declaration is recorded, whether or not it names a contract Faktura can find:
    what the person entered, when, and what came of it. One that identifies exactly one
    contract of one customer is carried out at once (``status`` done); any other waits
    in the back office's to-do list until staff have dealt with it.
    """

    class Kind(models.TextChoices):
        ORDINARY = "ordinary", _("ordentliche Kündigung")
        EXTRAORDINARY = "extraordinary", _("außerordentliche Kündigung")

    class Status(models.TextChoices):
        OPEN = "open", _("zu bearbeiten")
        DONE = "done", _("erledigt")

    submitted_at = models.DateTimeField(_("Eingegangen am"))
    name = models.CharField(_("Name"), max_length=200)
    customer_number = models.CharField(_("Kundennummer"), max_length=30, blank=True)
    email = models.EmailField(_("E-Mail-Adresse"))
    contract = models.CharField(_("Vertrag"), max_length=200, blank=True)
    kind = models.CharField(_("Art der Kündigung"), max_length=15, choices=Kind.choices)
    reason = models.TextField(_("Kündigungsgrund"), blank=True)
    # None: "zum nächstmöglichen Zeitpunkt".
    desired_end = models.DateField(_("Gewünschtes Vertragsende"), null=True, blank=True)
    status = models.CharField(
        _("Status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    # What the declaration was matched to; never shown to the person who submitted it.
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cancellation_requests",
        verbose_name=_("Kunde"),
    )
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cancellation_requests",
        verbose_name=_("Abonnement"),
    )
    ends_on = models.DateField(_("Vertragsende"), null=True, blank=True)
    outcome = models.CharField(_("Ergebnis"), max_length=300, blank=True)
    processed_at = models.DateTimeField(_("Bearbeitet am"), null=True, blank=True)
    processed_by = models.CharField(_("Bearbeitet von"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("Kündigung (Kündigungsbutton)")
        verbose_name_plural = _("Kündigungen (Kündigungsbutton)")
        ordering: ClassVar = ["-id"]
        indexes: ClassVar = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        when = self.submitted_at.strftime("%d.%m.%Y %H:%M")
        return f"{when} {self.name} – {self.contract or self.get_kind_display()}"
