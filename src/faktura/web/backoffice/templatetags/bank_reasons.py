"""Matching's reasons in the reader's language: ``{{ suggestion|reason_text }}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

from faktura.banking import reasons

register = template.Library()


@register.filter
def reason_text(suggestion: Mapping[str, Any] | None) -> str:
    """A stored suggestion's reason (its code put into words; an old German one as stored)."""
    return reasons.of_suggestion(suggestion) if suggestion else ""
