"""/company: the seller's master data as documents carry them (read-only)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from faktura.api import presenters
from faktura.api.auth import read_auth
from faktura.api.fields import Timestamp
from faktura.api.schemas import ErrorOut
from faktura.core.models import Company
from faktura.core.money import format_amount
from faktura.payments.models import PaymentSettings

router = Router(tags=["company"])
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 409: ErrorOut}


class BankAccountOut(Schema):
    id: int
    object: Literal["bank_account"] = "bank_account"
    bank_name: str
    account_holder: str
    iban: str = Field(examples=["DE02120300000000202051"])
    bic: str
    is_default: bool = Field(description="The account on invoices and SEPA files")


class CompanyOut(Schema):
    id: int
    object: Literal["company"] = "company"
    created_at: Timestamp | None = Field(None, description="Not recorded for the company")
    updated_at: Timestamp
    legal_name: str
    legal_form: str
    street: str
    house_number: str
    postcode: str
    city: str
    country: str
    register_court: str
    register_number: str
    managing_directors: str
    tax_number: str
    vat_id: str = Field(examples=["DE136695976"])
    creditor_id: str = Field(
        description="SEPA creditor identifier (Gläubiger-ID); empty: no direct debits",
        examples=["DE98ZZZ09999999999"],
    )
    email: str
    phone: str
    website: str
    contact_name: str
    currency: str = "EUR"
    payment_term_days: int = Field(description="Default payment term of new customers")
    early_payment_discount_days: int | None
    early_payment_discount_percent: str | None = Field(examples=["2.00"])
    small_business: bool = Field(description="§ 19 UStG: no VAT on invoices")
    default_language: str
    time_zone: str = Field(examples=["Europe/Berlin"])
    pre_notification_days: int = Field(
        description="Days between invoice date and the earliest direct-debit collection"
    )
    bank_accounts: list[BankAccountOut] = Field(description="The default account first")


@router.get("", response={200: CompanyOut, **READ_ERRORS}, auth=read_auth)
def get_company(request: HttpRequest) -> Any:
    """The company: address, VAT ID, tax number, creditor ID, bank accounts, payment terms.

    409 company_missing before the master data are set up.
    """
    company = Company.get()
    accounts = company.bank_accounts.order_by("-is_default", "pk")
    percent = company.early_payment_discount_percent
    return CompanyOut(
        id=company.pk,
        created_at=None,
        updated_at=presenters.timestamp(company.updated_at) or "",
        legal_name=company.legal_name,
        legal_form=company.legal_form,
        street=company.street,
        house_number=company.house_number,
        postcode=company.postcode,
        city=company.city,
        country=company.country,
        register_court=company.register_court,
        register_number=company.register_number,
        managing_directors=company.managing_directors,
        tax_number=company.tax_number,
        vat_id=company.vat_id,
        creditor_id=company.creditor_id,
        email=company.email,
        phone=company.phone,
        website=company.website,
        contact_name=company.contact_name,
        payment_term_days=company.payment_term_days,
        early_payment_discount_days=company.early_payment_discount_days,
        early_payment_discount_percent=format_amount(percent) if percent is not None else None,
        small_business=company.small_business,
        default_language=company.default_language,
        time_zone=company.time_zone,
        pre_notification_days=PaymentSettings.load().pre_notification_days,
        bank_accounts=[
            BankAccountOut(
                id=a.pk,
                bank_name=a.bank_name,
                account_holder=a.account_holder,
                iban=a.iban,
                bic=a.bic,
                is_default=a.is_default,
            )
            for a in accounts
        ],
    )
