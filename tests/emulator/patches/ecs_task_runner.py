"""The emulator plays Bedrock Chat's embedding container. Stock moto runs no container: its tasks
advance one status per DescribeTasks call and never touch DynamoDB. For a task whose container
override runs `embedding/main.py <Keys JSON>` this runner does what the real container does: set
the bot's `SyncStatus` to RUNNING, then after the configured duration to SUCCEEDED (or FAILED with
a reason, for a configurable share) with `LastExecId` = the task id, and stop the task with the
container's exit code.

Knobs, from the environment at start or `POST /moto-api/emulator/task-runner` (JSON) at any time:
`seconds` (EMULATOR_TASK_SECONDS, default 1.0), `failure_rate` (EMULATOR_TASK_FAILURE_RATE,
default 0.0), `seed` (EMULATOR_SEED, default 0). `GET` on the same path returns the knobs and
every embedding task started so far, per bot, and `tasks`: per task id its bot, `started_by`,
`created` and `stopped` (epoch seconds, `stopped` null while it runs) and `exit_code`.

Tasks of `cargo xtask copy-vectors` are played by `copy_runner.py`.

AWS documents the behaviour restored here:
- https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html
- https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html
"""

import heapq
import itertools
import json
import os
import random
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.ecs import models as ecs_models

from . import copy_runner

EMBEDDING_SCRIPT = "embedding/main.py"


class Knobs:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seconds = float(os.environ.get("EMULATOR_TASK_SECONDS", "1.0"))
        self.failure_rate = float(os.environ.get("EMULATOR_TASK_FAILURE_RATE", "0.0"))
        self.seed = int(os.environ.get("EMULATOR_SEED", "0"))
        self.rng = random.Random(self.seed)
        # "<PK>|<SK>" -> task ids, in launch order.
        self.started: dict[str, list[str]] = {}
        # task id -> {"bot", "started_by", "created", "stopped", "exit_code"}: lifetimes, so a
        # test can check that no bot ever had two tasks running at once.
        self.tasks: dict[str, dict] = {}

    def update(self, body: dict) -> None:
        with self.lock:
            self.seconds = float(body.get("seconds", self.seconds))
            self.failure_rate = float(body.get("failure_rate", self.failure_rate))
            if "seed" in body:
                self.seed = int(body["seed"])
                self.rng = random.Random(self.seed)

    def as_dict(self) -> dict:
        with self.lock:
            return {
                "seconds": self.seconds,
                "failure_rate": self.failure_rate,
                "seed": self.seed,
                "started": {k: list(v) for k, v in self.started.items()},
                "tasks": {k: dict(v) for k, v in self.tasks.items()},
            }


KNOBS = Knobs()


class Scheduler:
    """One thread and a heap, not a thread per task: a bench launches tens of thousands."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        threading.Thread(target=self._loop, daemon=True, name="task-runner").start()

    def at(self, delay: float, action: Callable[[], None]) -> None:
        with self._wake:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._counter), action))
            self._wake.notify()

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._wake.wait(timeout)
                _, _, action = heapq.heappop(self._heap)
            try:
                action()
            except Exception as error:  # noqa: BLE001 - a broken task must not stop the runner
                print(f"task-runner: {error!r}", flush=True)


SCHEDULER: Scheduler | None = None


def _embedding_keys(task: Any) -> tuple[str | None, Any]:
    """The container's command if this is an embedding task: (container name, keys JSON text)."""
    for override in task.overrides.get("containerOverrides", []) or []:
        command = override.get("command") or []
        if EMBEDDING_SCRIPT in command:
            return override.get("name"), command[-1]
    return None, None


def _table_name(task_definition: Any) -> str | None:
    for container in task_definition.container_definitions:
        for variable in container.get("environment") or []:
            if variable.get("name") == "TABLE_NAME":
                return variable.get("value")
    return None


def _set_sync_status(table_name: str, keys: dict, status: str, reason: str, task_id: str, account: str, region: str) -> bool:
    backend = dynamodb_backends[account][region]
    item = backend.get_item(table_name, keys)
    if item is None:
        return False
    item.attrs["SyncStatus"] = DynamoType({"S": status})
    item.attrs["SyncStatusReason"] = DynamoType({"S": reason})
    item.attrs["LastExecId"] = DynamoType({"S": task_id})
    return True


def _stop(task: Any, exit_code: int, reason: str) -> None:
    now = datetime.now(timezone.utc)
    for container in task.containers:
        container.last_status = "STOPPED"
        container.exitCode = exit_code
    task.last_status = "STOPPED"
    task.desired_status = "STOPPED"
    task.stopped_reason = reason
    task.stopped_at = now
    with KNOBS.lock:
        record = KNOBS.tasks.get(task.task_arn.split("/")[-1])
        if record is not None:
            record.update(stopped=time.time(), exit_code=exit_code)


def _play(task: Any, backend: Any) -> None:
    _, keys_text = _embedding_keys(task)
    task_id = task.task_arn.split("/")[-1]
    task_definition = backend.describe_task_definition(task.task_definition_arn)
    table_name = _table_name(task_definition)
    account, region = backend.account_id, backend.region_name
    with KNOBS.lock:
        seconds = KNOBS.seconds
        fails = KNOBS.rng.random() < KNOBS.failure_rate
    try:
        keys = json.loads(keys_text)
        bot = f'{keys["PK"]["S"]}|{keys["SK"]["S"]}'
    except (ValueError, KeyError, TypeError):
        SCHEDULER.at(seconds / 4, lambda: _stop(task, 1, "Essential container in task exited"))
        return
    with KNOBS.lock:
        KNOBS.started.setdefault(bot, []).append(task_id)
        KNOBS.tasks[task_id] = {
            "bot": bot,
            "started_by": task.started_by,
            "created": time.time(),
            "stopped": None,
            "exit_code": None,
        }
    # Our tasks keep the status we give them: no moto state-manager progression.
    task._transitions = []
    task.last_status = "PENDING"

    def start() -> None:
        task.last_status = "RUNNING"
        for container in task.containers:
            container.last_status = "RUNNING"
        if table_name is None or not _set_sync_status(table_name, keys, "RUNNING", "", task_id, account, region):
            _stop(task, 1, "Essential container in task exited")
            return
        SCHEDULER.at(seconds, finish)

    def finish() -> None:
        if fails:
            reason = "Embedding failed: emulated failure (failure_rate knob)"
            _set_sync_status(table_name, keys, "FAILED", reason, task_id, account, region)
            _stop(task, 1, "Essential container in task exited")
        else:
            _set_sync_status(table_name, keys, "SUCCEEDED", "", task_id, account, region)
            _stop(task, 0, "Essential container in task exited")

    SCHEDULER.at(min(0.2, seconds / 4), start)


_original_run_task = ecs_models.EC2ContainerServiceBackend.run_task


def _run_task(self: Any, *args: Any, **kwargs: Any) -> Any:
    tasks = _original_run_task(self, *args, **kwargs)
    for task in tasks:
        if _embedding_keys(task)[0] is not None:
            _play(task, self)
            continue
        # `cargo xtask copy-vectors`' task: its container and command are in the task definition.
        copy_container = copy_runner.copy_container(self.describe_task_definition(task.task_definition_arn))
        if copy_container is not None:
            copy_runner.play(task, self, copy_container, SCHEDULER.at, _stop)
    return tasks


def _admin(request: Any, full_url: str, headers: Any) -> Any:
    if request.method == "POST":
        size = int(headers.get("Content-Length") or 0)
        body = request.environ["wsgi.input"].read(size).decode("utf-8") if size else "{}"
        KNOBS.update(json.loads(body or "{}"))
    return 200, {"Content-Type": "application/json"}, json.dumps(KNOBS.as_dict())


def apply() -> None:
    global SCHEDULER
    SCHEDULER = Scheduler()
    ecs_models.EC2ContainerServiceBackend.run_task = _run_task
    from moto.moto_api._internal import urls

    urls.url_paths["{0}/moto-api/emulator/task-runner"] = _admin
    copy_runner.apply()
