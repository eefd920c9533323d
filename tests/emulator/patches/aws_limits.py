"""AWS's limits and latencies, which moto lacks: moto answers every call in about 2 ms and never
throttles, so a launcher measured against it is judged against moto, not AWS (docs/emulator.md).
With the knobs on, each call waits its AWS-like latency, RunTask is held to the RunTask API bucket
and the Fargate launch bucket (ThrottlingException "Rate exceeded" beyond them), and RunTask puts
the task in `failures` when the running tasks would exceed the account's Fargate vCPU quota. The
numbers, each with its source, are in `tests/emulator/aws_limits.toml`.

Off by default (tests and the demo keep moto's speed). On with EMULATOR_AWS_LIMITS=1 at start or
`POST /moto-api/emulator/aws-limits` with `{"enabled": true}`; `{"reset": true}` clears the
counters. `GET` on the same path returns the knobs and what happened since the last reset: calls
per operation, RunTask acceptance times, throttles, capacity failures, running tasks, and the
emulator's own CPU seconds (to show it is not the bottleneck).

With the knobs on, Scan pages come from `scan_index.py` (an index of the table, kept per version of
its data), not moto's sort and walk of the whole table per page: at 100,000 items that walk, not
the latency, would be what a parallel scan measures. Query reads only the partition it names
(`query_index.py`), for the same reason.

AWS documents the behaviour restored here:
- https://docs.aws.amazon.com/AmazonECS/latest/developerguide/throttling.html
- https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html
"""

import json
import os
import random
import resource
import threading
import time
import tomllib
from typing import Any

from moto.core.responses import BaseResponse
from moto.ecs import models as ecs_models

from . import query_index, scan_index

CONFIG_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "aws_limits.toml")
CAPACITY_REASON = "Capacity is unavailable at this time. Please try again later or in a different availability zone"


class Bucket:
    """AWS's token bucket: `burst` tokens, refilled at `rate` per second."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.last = burst, time.monotonic()

    def take(self, n: float) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False


class Limits:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        with open(CONFIG_PATH, "rb") as f:
            self.config = tomllib.load(f)
        self.enabled = os.environ.get("EMULATOR_AWS_LIMITS", "") not in ("", "0")
        self.rng = random.Random(0)
        # Tasks RunTask started and not yet seen STOPPED: the running count for the quota.
        self.live: list[Any] = []
        self.reset()

    def reset(self) -> None:
        self.run_task_bucket = Bucket(**self.config["run_task_bucket"])
        self.launch_bucket = Bucket(**self.config["launch_bucket"])
        self.calls: dict[str, int] = {}
        self.accepted_at: list[float] = []
        self.throttled = 0
        self.capacity_failures = 0
        self.peak_running = 0

    def latency(self, operation: str) -> float:
        ms = self.config["latency_ms"].get(operation, 0)
        jitter = self.config["latency_ms"].get("jitter", 0.0)
        return ms / 1000.0 * self.rng.uniform(1.0 - jitter, 1.0 + jitter)

    def running(self) -> int:
        self.live = [t for t in self.live if t.last_status != "STOPPED"]
        return len(self.live)

    def max_tasks(self) -> int:
        capacity = self.config["capacity"]
        return int(capacity["vcpu_quota"] // capacity["task_vcpu"])

    def as_dict(self) -> dict:
        with self.lock:
            return {
                "enabled": self.enabled,
                "config": self.config,
                "calls": dict(self.calls),
                "run_task_accepted_at": list(self.accepted_at),
                "throttled": self.throttled,
                "capacity_failures": self.capacity_failures,
                "running": self.running(),
                "peak_running": self.peak_running,
                "max_running_tasks": self.max_tasks(),
                "cpu_seconds": _cpu_seconds(),
            }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


LIMITS = Limits()


def _throttled(response: Any) -> Any:
    body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": "ThrottlingException"}
    return 400, headers, body


def _capacity_failure(response: Any) -> Any:
    body = json.dumps({"tasks": [], "failures": [{"arn": response._get_param("cluster", "default"), "reason": CAPACITY_REASON}]})
    return 200, {"Content-Type": "application/x-amz-json-1.1"}, body


_original_call_action = BaseResponse.call_action


def _call_action(self: Any) -> Any:
    if not LIMITS.enabled or getattr(self, "service_name", None) not in ("ecs", "dynamodb"):
        return _original_call_action(self)
    operation = self._get_action()
    with LIMITS.lock:
        LIMITS.calls[operation] = LIMITS.calls.get(operation, 0) + 1
        answer = None
        if operation == "RunTask":
            count = int(self._get_param("count", 1) or 1)
            if not LIMITS.run_task_bucket.take(1) or not LIMITS.launch_bucket.take(count):
                LIMITS.throttled += 1
                answer = _throttled(self)
            elif LIMITS.running() + count > LIMITS.max_tasks():
                LIMITS.capacity_failures += 1
                answer = _capacity_failure(self)
            else:
                LIMITS.accepted_at.append(time.time())
        delay = LIMITS.latency("Throttled" if answer and answer[0] == 400 else operation)
    if answer is None and operation == "Scan":
        answer = scan_index.fast_scan(self)
    if answer is None:
        answer = _original_call_action(self)
    time.sleep(delay)
    return answer


_wrapped_run_task: Any = None


def _run_task(self: Any, *args: Any, **kwargs: Any) -> Any:
    tasks = _wrapped_run_task(self, *args, **kwargs)
    if LIMITS.enabled:
        with LIMITS.lock:
            LIMITS.live.extend(tasks)
            LIMITS.peak_running = max(LIMITS.peak_running, LIMITS.running())
    return tasks


def _admin(request: Any, full_url: str, headers: Any) -> Any:
    if request.method == "POST":
        size = int(headers.get("Content-Length") or 0)
        body = json.loads((request.environ["wsgi.input"].read(size).decode("utf-8") if size else "") or "{}")
        with LIMITS.lock:
            if "enabled" in body:
                LIMITS.enabled = bool(body["enabled"])
            if body.get("reset"):
                LIMITS.reset()
    return 200, {"Content-Type": "application/json"}, json.dumps(LIMITS.as_dict())


def apply() -> None:
    global _wrapped_run_task
    # Taken here, not at import: the task runner's RunTask (applied before) is the one to wrap.
    _wrapped_run_task = ecs_models.EC2ContainerServiceBackend.run_task
    BaseResponse.call_action = _call_action
    ecs_models.EC2ContainerServiceBackend.run_task = _run_task
    scan_index.apply(lambda: LIMITS.enabled)
    query_index.apply(lambda: LIMITS.enabled)
    from moto.moto_api._internal import urls

    urls.url_paths["{0}/moto-api/emulator/aws-limits"] = _admin
