"""A local stand-in for Stripe's HTTP API: a real HTTP server in a thread.

The official ``stripe`` library talks to it over HTTP exactly as to api.stripe.com
(settings.STRIPE_API_BASE), so what is tested is the request the library really sends:
form-encoded parameters (``metadata[invoice_id]=…``), the ``Idempotency-Key`` header,
the secret key. It implements ``POST /v1/payment_intents`` with Stripe's idempotency
(the same key answers with the same object; the same key with other parameters is an
``idempotency_error``), declines chosen payment methods with a ``card_error`` (HTTP 402),
and can be made unavailable (HTTP 503). Every intent it confirms produces the event
Stripe would send (``payment_intent.succeeded`` / ``payment_intent.payment_failed``).

For browser tests it also serves the hosted checkout page of a payment session
(``GET /c/pay/<id>``, one "Bezahlen" button): paying completes the session, sends the signed
``checkout.session.completed`` to ``webhook_url`` (as Stripe does before the payer is back)
and redirects to the session's ``success_url``.
"""

from __future__ import annotations

import html
import itertools
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

CREATED = 1794819600  # 2026-11-16 09:00 UTC, the tests' frozen now


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding back to a dict: ``metadata[a]=1`` → {"metadata": {"a": "1"}}."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        if "[" in key and key.endswith("]"):
            outer, inner = key[:-1].split("[", 1)
            result.setdefault(outer, {})[inner] = value
        else:
            result[key] = value
    return result


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any]


@dataclass
class FakeStripe:
    api_key: str
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    declines: dict[str, tuple[str, str]] = field(default_factory=dict)
    unavailable: bool = False
    webhook_url: str = ""
    webhook_secret: str = ""
    _replies: dict[str, tuple[dict[str, Any], int, dict[str, Any]]] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def decline(self, payment_method: str, code: str = "card_declined",
                decline_code: str = "insufficient_funds") -> None:  # fmt: skip
        """Answer charges of ``payment_method`` with a card error, as Stripe does."""
        self.declines[payment_method] = (code, decline_code)

    def events_of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    # --- the API ------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: str):
        params = decode_form(body)
        with self._lock:
            self.requests.append(Received(method, path, headers, params))
            if headers.get("authorization") != f"Bearer {self.api_key}":
                return 401, {"error": {"type": "invalid_request_error",
                                       "message": "Invalid API Key provided."}}, {}  # fmt: skip
            if self.unavailable:
                return (
                    503,
                    {"error": {"type": "api_error", "message": "Stripe is down."}},
                    {"Stripe-Should-Retry": "false"},
                )
            route = urlsplit(path).path
            creators = {
                "/v1/payment_intents": self._create_intent,
                "/v1/customers": self._create_customer,
                "/v1/checkout/sessions": self._create_session,
            }
            if method == "GET" and route.startswith("/v1/checkout/sessions/"):
                return self._session(route.rsplit("/", 1)[1])
            create = creators.get(route) if method == "POST" else None
            if create is None:
                unknown = f"Unrecognized request URL ({path})."
                return 404, {"error": {"type": "invalid_request_error", "message": unknown}}, {}
            key = headers.get("idempotency-key")
            if key and key in self._replies:
                earlier, status, reply = self._replies[key]
                if earlier != params:
                    return 400, {"error": {"type": "idempotency_error", "message":
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with."}}, {}  # fmt: skip
                return status, reply, {"Idempotent-Replayed": "true"}
            status, reply = create(params)
            if key:
                self._replies[key] = (params, status, reply)
            return status, reply, {}

    def _create_intent(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        number = next(self._ids)
        intent: dict[str, Any] = {
            "id": f"pi_fake{number:04d}",
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "amount_received": 0,
            "currency": params["currency"],
            "customer": params.get("customer"),
            "payment_method": params.get("payment_method"),
            "description": params.get("description"),
            "metadata": params.get("metadata", {}),
            "confirmation_method": "automatic",
            "capture_method": "automatic",
            "created": CREATED,
            "livemode": False,
            "last_payment_error": None,
            "status": "requires_confirmation",
        }
        self.intents[intent["id"]] = intent
        confirm = params.get("confirm") == "true"
        declined = self.declines.get(str(params.get("payment_method")))
        if confirm and declined:
            code, decline_code = declined
            error = {
                "type": "card_error",
                "code": code,
                "decline_code": decline_code,
                "message": "Your card was declined.",
                "payment_method": {"id": params.get("payment_method")},
            }
            intent.update(status="requires_payment_method", last_payment_error=error)
            self._event("payment_intent.payment_failed", intent)
            return 402, {"error": {**error, "payment_intent": intent}}
        if confirm:
            intent.update(status="succeeded", amount_received=intent["amount"])
            self._event("payment_intent.succeeded", intent)
        return 200, intent

    # --- saving a card: customers and Checkout in setup mode --------------------------

    def _create_customer(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        customer = {"id": f"cus_fake{next(self._ids):04d}", "object": "customer",
                    "email": params.get("email"), "name": params.get("name"),
                    "metadata": params.get("metadata", {})}  # fmt: skip
        self.customers[customer["id"]] = customer
        return 200, customer

    def _create_session(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        number = next(self._ids)
        session = {
            "id": f"cs_fake{number:04d}",
            "object": "checkout.session",
            "mode": params.get("mode"),
            "status": "open",
            "url": f"{self.url}/c/pay/cs_fake{number:04d}",
            "customer": params.get("customer"),
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}),
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "setup_intent": None,
            "currency": params.get("currency"),
            "amount_total": int(params.get("line_items", {}).get("0][price_data][unit_amount", 0)),
            "payment_status": "unpaid",
            "payment_intent": None,
            "customer_details": {"email": params.get("customer_email"), "name": None},
        }
        self.sessions[session["id"]] = session
        return 200, session

    def complete_setup(self, session_id: str, *, brand: str = "visa", last4: str = "4242"):
        """The customer entered a card on Stripe's page: the session is complete.

        Records the events Stripe sends then (``setup_intent.succeeded``, then
        ``checkout.session.completed`` naming the SetupIntent by id only, as events never
        expand); ``deliver`` posts one of them to the webhook.
        """
        number = next(self._ids)
        self.sessions[session_id].update(
            status="complete",
            setup_intent={
                "id": f"seti_fake{number:04d}",
                "object": "setup_intent",
                "status": "succeeded",
                "payment_method": {
                    "id": f"pm_fake{number:04d}",
                    "object": "payment_method",
                    "type": "card",
                    "card": {"brand": brand, "last4": last4, "exp_month": 8, "exp_year": 2029},
                },
            },
        )
        session = self.sessions[session_id]
        intent = session["setup_intent"]
        self._event(
            "setup_intent.succeeded",
            {**intent, "customer": session["customer"], "metadata": {},
             "payment_method": intent["payment_method"]["id"]},
        )  # fmt: skip
        self._event("checkout.session.completed", {**session, "setup_intent": intent["id"]})
        return intent["payment_method"]["id"]

    def setup_event(self, session_id: str) -> dict[str, Any]:
        """The ``checkout.session.completed`` event of a completed setup checkout."""
        return next(
            e
            for e in reversed(self.events_of("checkout.session.completed"))
            if e["data"]["object"]["id"] == session_id
        )

    # --- the hosted checkout page (browser tests) ----------------------------------------

    def checkout_page(self, session_id: str) -> tuple[int, str]:
        session = self.sessions.get(session_id)
        if session is None or session["mode"] != "payment":
            return 404, "<!doctype html><title>Nicht gefunden</title><h1>Nicht gefunden</h1>"
        amount = f"{session['amount_total'] / 100:.2f}".replace(".", ",")
        return 200, (
            '<!doctype html><html lang="de"><title>Fake Checkout</title><main>'
            f"<h1>Bezahlen: {amount} €</h1>"
            f'<form method="post" action="/c/pay/{html.escape(session_id)}">'
            "<button>Bezahlen</button></form>"
            f'<p><a href="{html.escape(session["cancel_url"] or "")}">Abbrechen</a></p>'
            "</main></html>"
        )

    def pay_checkout(self, session_id: str) -> tuple[int, str]:
        """The payer pressed "Bezahlen": complete, tell the webhook, back to the shop."""
        with self._lock:
            session = self.sessions.get(session_id)
            if session is None or session["mode"] != "payment":
                return 404, ""
            if session["status"] != "complete":
                session.update(
                    status="complete",
                    payment_status="paid",
                    payment_intent=f"pi_fake{next(self._ids):04d}",
                )
                self._event("checkout.session.completed", session)
                event = self.events[-1]
            else:
                event = None
        if event is not None and self.webhook_url:
            self.deliver(event)
        return 303, session["success_url"]

    def deliver(self, event: dict[str, Any]) -> None:
        """POST ``event`` signed with ``webhook_secret`` to ``webhook_url``, as Stripe does."""
        import stripe

        payload = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(
            payload, self.webhook_secret, timestamp=int(time.time())
        )
        if not self.webhook_url.startswith("http://127.0.0.1:") and not self.webhook_url.startswith(
            "http://localhost:"
        ):
            raise ValueError(f"the fake delivers to a local server only: {self.webhook_url}")
        request = urllib.request.Request(  # noqa: S310 (checked above)
            self.webhook_url,
            data=payload.encode(),
            headers={"Content-Type": "application/json", "Stripe-Signature": header},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            if response.status != 200:
                raise RuntimeError(f"webhook answered {response.status}")

    def _session(self, session_id: str):
        session = self.sessions.get(session_id)
        if session is None:
            missing = f"No such checkout.session: '{session_id}'"
            error = {"type": "invalid_request_error", "code": "resource_missing"}
            error["message"] = missing
            return 404, {"error": error}, {}
        return 200, session, {}

    def _event(self, kind: str, obj: dict[str, Any]) -> None:
        self.events.append({
            "id": f"evt_fake{len(self.events) + 1:04d}",
            "object": "event",
            "api_version": "2025-09-30.clover",
            "type": kind,
            "created": CREATED,
            "livemode": False,
            "data": {"object": json.loads(json.dumps(obj))},
        })  # fmt: skip


def _handler(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self._answer("POST")

        def do_GET(self) -> None:
            self._answer("GET")

        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            if self.path.startswith("/c/pay/"):
                self._checkout(method, self.path.removeprefix("/c/pay/"))
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, reply, extra = fake.handle(method, self.path, headers, body)
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_fake{len(fake.requests)}")
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _checkout(self, method: str, session_id: str) -> None:
            if method == "GET":
                status, page = fake.checkout_page(session_id)
                data = page.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            status, location = fake.pay_checkout(session_id)
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running(api_key: str) -> Iterator[FakeStripe]:
    """Serve a FakeStripe on a free local port while the block runs."""
    fake = FakeStripe(api_key=api_key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
