"""Copies of the seller's and the buyer's data, taken into each document."""

from __future__ import annotations

from typing import Any

from faktura.core.models import Company
from faktura.customers.models import Customer


def seller_data(company: Company) -> dict[str, Any]:
    bank = company.bank_accounts.filter(is_default=True).first() or company.bank_accounts.first()
    return {
        "name": company.legal_name,
        "legal_form": company.legal_form,
        "street": company.street,
        "house_number": company.house_number,
        "postcode": company.postcode,
        "city": company.city,
        "country": company.country,
        "email": company.email,
        "phone": company.phone,
        "website": company.website,
        "contact_name": company.contact_name,
        "vat_id": company.vat_id,
        "tax_number": company.tax_number,
        "register_court": company.register_court,
        "register_number": company.register_number,
        "managing_directors": company.managing_directors,
        "creditor_id": company.creditor_id,
        "small_business": company.small_business,
        "bank": {
            "iban": bank.iban,
            "bic": bank.bic,
            "bank_name": bank.bank_name,
            "account_holder": bank.account_holder,
        }
        if bank
        else None,
    }


def buyer_data(customer: Customer) -> dict[str, Any]:
    return {
        "customer_number": customer.number,
        "name": customer.name,
        "contact_name": customer.contact_name,
        "street": customer.street,
        "house_number": customer.house_number,
        "postcode": customer.postcode,
        "city": customer.city,
        "country": customer.country,
        "email": customer.email,
        "phone": customer.phone,
        "vat_id": customer.vat_id,
        "leitweg_id": customer.leitweg_id,
        "xrechnung_syntax": customer.xrechnung_syntax,
        "is_consumer": customer.is_consumer,
        "kind": customer.kind,
    }
