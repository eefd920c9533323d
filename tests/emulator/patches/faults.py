"""Fault injection: AWS fails now and then, moto never does. Off by default. A configuration is a
seed and a list of rules; each call to an AWS service (never to `/moto-api`) is matched against
the rules in order, and the first that fires answers instead of moto:

- `internal`: HTTP 500 in the service's own error shape (awsJson: a JSON body with `__type`
  `InternalServerError` for DynamoDB, `ServerException` for ECS, `InternalFailure` elsewhere;
  query/XML services: an `ErrorResponse` with `InternalFailure`), which SDKs retry. moto's own
  500s are HTML pages, which the Rust SDK reads as a malformed body. Nothing is executed.
- `throttle`: HTTP 400 `ThrottlingException` (`Throttling` for XML services), "Rate exceeded".
  Nothing is executed.
- `drop`: the call is executed, then the connection is closed without an answer: the effect
  happened and the client never hears of it (the worst case for exactly-once).
- `delay`: the call is executed, then the answer is held `seconds` (default 5) before it is sent:
  past the client's attempt timeout, the client gives up on an answer that is on its way.

A rule: `service` (the SigV4 signing name, e.g. `ecs`, `dynamodb`; `*` or absent: any),
`operation` (`RunTask`; `*` or absent: any), `kind` (one of the above, or a list to pick from at
random), `share` (the probability that a matching call fails), `from_call` (N: matching calls
fail from the Nth on, counted per rule from 1; with `share`, that share of them), `times` (the
rule fires at most this often), `seconds` (for `delay`). Randomness comes from one generator seeded with `seed`: the same seed and the same
order of calls give the same faults.

`POST /moto-api/emulator/faults` with `{"seed": 7, "rules": [...]}` replaces the configuration
and zeroes the counters (`{"rules": []}` turns faults off); `EMULATOR_FAULTS` (the same JSON) sets
one at start. `GET` returns the configuration and the counters: `calls` per `service.Operation`
seen while rules were set, `injected` per `service.Operation` and kind, and `log`, the injected
faults in order (`service`, `operation`, `kind`, `call`: the call's number for that operation).

Also restored here, because only a retried call meets it: RunTask's `clientToken` idempotency.
AWS answers a repeated RunTask with the same token with the tasks of the first call instead of
starting new ones; moto ignores the token, so a RunTask whose answer was dropped or delayed and
then retried would start a second task, as no AWS region does.

AWS documents the behaviour restored here:
- https://docs.aws.amazon.com/AmazonECS/latest/APIReference/ECS_Idempotency.html
- https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
"""

import io
import json
import os
import random
import socket
import struct
import threading
import time
import uuid
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from moto.ecs import responses as ecs_responses
from moto.moto_server import werkzeug_app

KINDS = ("internal", "throttle", "drop", "delay")

# The 500 code each awsJson service answers with; other services answer InternalFailure.
INTERNAL_CODES = {"dynamodb": "InternalServerError", "ecs": "ServerException"}


class Rule:
    def __init__(self, body: dict) -> None:
        self.service = str(body.get("service") or "*")
        self.operation = str(body.get("operation") or "*")
        kind = body.get("kind", "internal")
        self.kinds = [kind] if isinstance(kind, str) else list(kind)
        unknown = [k for k in self.kinds if k not in KINDS]
        if not self.kinds or unknown:
            raise ValueError(f"kind must be one of {KINDS} or a list of them, got {kind!r}")
        self.from_call = int(body["from_call"]) if "from_call" in body else None
        default_share = 1.0 if self.from_call is not None else 0.0
        self.share = float(body.get("share", default_share))
        self.seconds = float(body.get("seconds", 5.0))
        self.times = int(body["times"]) if "times" in body else None
        self.calls = 0
        self.fired = 0
        self.raw = body

    def matches(self, service: str, operation: str | None) -> bool:
        return self.service in ("*", service) and self.operation in ("*", operation)


class Faults:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.configure(json.loads(os.environ.get("EMULATOR_FAULTS") or "{}"))

    def configure(self, body: dict) -> None:
        rules = [Rule(r) for r in body.get("rules") or []]
        with self.lock:
            self.seed = int(body.get("seed", 0))
            self.rng = random.Random(self.seed)
            self.rules = rules
            self.calls: dict[str, int] = {}
            self.injected: dict[str, dict[str, int]] = {}
            self.log: list[dict] = []

    def active(self) -> bool:
        return bool(self.rules)

    def decide(self, service: str, operation: str | None) -> tuple[str, float] | None:
        """Counts the call; the fault to inject (kind, delay seconds), if a rule fires."""
        name = f"{service}.{operation or '?'}"
        with self.lock:
            call = self.calls.get(name, 0) + 1
            self.calls[name] = call
            for rule in self.rules:
                if not rule.matches(service, operation):
                    continue
                rule.calls += 1
                if rule.from_call is not None and rule.calls < rule.from_call:
                    continue
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                if rule.share < 1.0 and self.rng.random() >= rule.share:
                    continue
                rule.fired += 1
                kind = self.rng.choice(rule.kinds)
                per_kind = self.injected.setdefault(name, {})
                per_kind[kind] = per_kind.get(kind, 0) + 1
                if len(self.log) < 100_000:
                    self.log.append({"service": service, "operation": operation, "kind": kind, "call": call})
                return kind, rule.seconds
        return None

    def as_dict(self) -> dict:
        with self.lock:
            return {
                "seed": self.seed,
                "rules": [r.raw for r in self.rules],
                "calls": dict(self.calls),
                "injected": {k: dict(v) for k, v in self.injected.items()},
                "log": list(self.log),
            }


FAULTS = Faults()


def _service(environ: dict) -> str | None:
    """The SigV4 signing name from `Credential=<key>/<date>/<region>/<service>/aws4_request`."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    start = auth.find("Credential=")
    if start < 0:
        return None
    parts = auth[start + len("Credential=") :].split(",")[0].split("/")
    return parts[3] if len(parts) >= 5 else None


def _operation(environ: dict) -> str | None:
    """awsJson: the `X-Amz-Target` suffix; query protocol: the body's `Action` (the body is read
    and put back for moto)."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.split(".")[-1]
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return None
    try:
        size = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    body = environ["wsgi.input"].read(size) if size else b""
    environ["wsgi.input"] = io.BytesIO(body)
    action = parse_qs(body.decode("utf-8", "replace")).get("Action")
    return action[0] if action else None


def _error(environ: dict, service: str, kind: str) -> tuple[str, list, bytes]:
    request_id = str(uuid.uuid4())
    if kind == "throttle":
        status, json_code, xml_code, message = "400 Bad Request", "ThrottlingException", "Throttling", "Rate exceeded"
    else:
        code = INTERNAL_CODES.get(service, "InternalFailure")
        status, json_code, xml_code = "500 Internal Server Error", code, "InternalFailure"
        message = "emulated fault (faults knob): the service had an internal error"
    if environ.get("HTTP_X_AMZ_TARGET"):
        content_type = environ.get("CONTENT_TYPE") or "application/x-amz-json-1.0"
        body = json.dumps({"__type": json_code, "message": message}).encode()
    else:
        content_type = "text/xml"
        body = (
            '<ErrorResponse xmlns="http://webservices.amazon.com/AWSFault/2005-15-09">'
            f"<Error><Type>{'Sender' if kind == 'throttle' else 'Receiver'}</Type>"
            f"<Code>{xml_code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", request_id),
    ]
    return status, headers, body


def _drop(environ: dict) -> None:
    """Resets the client's connection: it sees the connection end before any answer."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    # werkzeug takes a ConnectionError as the client gone and writes nothing more.
    raise ConnectionResetError("emulated fault (faults knob): connection dropped")


_original_call = werkzeug_app.DomainDispatcherApplication.__call__


def _call(self: Any, environ: dict, start_response: Callable) -> Iterable[bytes]:
    if not FAULTS.active() or environ.get("PATH_INFO", "").startswith("/moto-api"):
        return _original_call(self, environ, start_response)
    service = _service(environ)
    if service is None:
        return _original_call(self, environ, start_response)
    fault = FAULTS.decide(service, _operation(environ))
    if fault is None:
        return _original_call(self, environ, start_response)
    kind, seconds = fault
    if kind in ("internal", "throttle"):
        status, headers, body = _error(environ, service, kind)
        start_response(status, headers)
        return [body]
    # drop and delay: moto executes the call first; its answer is held back, then lost or late.
    answer: dict = {}

    def capture(status: str, headers: list, exc_info: Any = None) -> Callable:
        answer["status"], answer["headers"] = status, headers
        return lambda data: None

    body = b"".join(_original_call(self, environ, capture))
    if kind == "drop":
        _drop(environ)
    time.sleep(seconds)
    start_response(answer["status"], answer["headers"])
    return [body]


class _ClientTokens:
    """RunTask answers by (account, region, clientToken)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answers: dict[tuple[str, str, str], Any] = {}


CLIENT_TOKENS = _ClientTokens()
_original_run_task = ecs_responses.EC2ContainerServiceResponse.run_task


def _run_task(self: Any) -> Any:
    token = self._get_param("clientToken")
    if not token:
        return _original_run_task(self)
    key = (self.current_account, self.region, token)
    # One lock for all tokens: a retry must not start its task while the first call is running.
    with CLIENT_TOKENS.lock:
        if key not in CLIENT_TOKENS.answers:
            CLIENT_TOKENS.answers[key] = _original_run_task(self)
        return CLIENT_TOKENS.answers[key]


def _admin(request: Any, full_url: str, headers: Any) -> Any:
    if request.method == "POST":
        size = int(headers.get("Content-Length") or 0)
        body = request.environ["wsgi.input"].read(size).decode("utf-8") if size else "{}"
        try:
            FAULTS.configure(json.loads(body or "{}"))
        except (ValueError, TypeError, KeyError) as error:
            return 400, {"Content-Type": "application/json"}, json.dumps({"error": str(error)})
    return 200, {"Content-Type": "application/json"}, json.dumps(FAULTS.as_dict())


def apply() -> None:
    # Wraps whatever dispatch is installed when this runs (another patch may wrap it too): each
    # wrapper calls the one it found, so they nest in the order they were applied.
    global _original_call
    _original_call = werkzeug_app.DomainDispatcherApplication.__call__
    werkzeug_app.DomainDispatcherApplication.__call__ = _call
    ecs_responses.EC2ContainerServiceResponse.run_task = _run_task
    from moto.moto_api._internal import urls

    urls.url_paths["{0}/moto-api/emulator/faults"] = _admin
