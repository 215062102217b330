"""Operations endpoints: liveness, readiness (``core.health``) and metrics (``core.metrics``)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client.exposition import choose_encoder

from faktura.core import health, metrics


@never_cache
@require_safe
def live(request: HttpRequest) -> JsonResponse:
    """The process answers; touches no database (a database outage is not a reason to
    restart the web process)."""
    return JsonResponse({"status": "live"})


@never_cache
@require_safe
def ready(request: HttpRequest) -> JsonResponse:
    is_ready, body = health.readiness()
    return JsonResponse(body, status=200 if is_ready else 503)


def _token_ok(request: HttpRequest) -> bool:
    token = str(settings.FAKTURA_METRICS_TOKEN)
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


@never_cache
@require_safe
def prometheus(request: HttpRequest) -> HttpResponse:
    if not _token_ok(request):
        response = HttpResponse("Bearer token required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    # The format the scraper asks for (Accept): Prometheus text, or OpenMetrics.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(metrics.registry()), content_type=content_type)
