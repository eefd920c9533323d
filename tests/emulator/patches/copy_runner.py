"""The emulator plays `cargo xtask copy-vectors`' container. Stock moto runs no container and
ignores a task definition's `secrets` and log configuration. For a task whose task definition has
a container named `copy` running the copy script (`sh -c <copy_vectors.sh>`), this runner does what
ECS and the container do:

- like ECS before it starts a container, it resolves every `secrets` entry
  (`<secret-arn>:<json-key>:<stage>:<version>`) through moto's Secrets Manager, and needs an
  execution role and an existing awslogs group; if any of that fails, the task stops with a
  `ResourceInitializationError` stopped reason and no exit code;
- otherwise it writes the configured result lines (`copy-vectors: {json}`, the script's contract)
  to the awslogs stream `<prefix>/copy/<task id>` of the task definition's log group and stops the
  task with the configured exit code.

Knob: `POST /moto-api/emulator/copy-result` (JSON) with `bots` (a list of `{"bot", "source_rows",
"target_rows"}`), optionally `exit_code` (default: 0 when every bot's counts match, else 3),
`stderr` (extra log lines), `summary` (false: no summary line, as when the script dies midway) and
`seconds` (how long the copy runs, default 0.3). Default: a small
successful copy of two bots. `GET` returns the knob and `tasks`: every copy task seen, with its
task definition (ARN, execution role, container definitions), `started_by`, `overrides`, the
secrets it resolved (names only), `exit_code` and `stopped_reason`.

AWS documents the behaviour restored here:
- https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html
- https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html
"""

import copy
import json
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable

from moto.logs.models import logs_backends
from moto.secretsmanager.models import secretsmanager_backends

from . import admin

CONTAINER = "copy"
SCRIPT_MARKER = "copy-vectors"
LINE_PREFIX = "copy-vectors: "
DEFAULT_RESULT = {
    "seconds": 0.3,
    "bots": [
        {"bot": "bot-a", "source_rows": 12, "target_rows": 12},
        {"bot": "bot-b", "source_rows": 3, "target_rows": 3},
    ],
    "exit_code": None,
    "stderr": [],
    "summary": True,
}

_lock = threading.Lock()
_result: dict = copy.deepcopy(DEFAULT_RESULT)
_tasks: list[dict] = []


def copy_container(task_definition: Any) -> dict | None:
    """The `copy` container if it runs the copy script with `sh -c`."""
    for container in task_definition.container_definitions:
        command = container.get("command") or []
        if (
            container.get("name") == CONTAINER
            and command[:2] == ["sh", "-c"]
            and len(command) == 3
            and SCRIPT_MARKER in command[2]
        ):
            return container
    return None


def _resolve_secrets(container: dict, account: str, region: str) -> tuple[dict, str | None]:
    """Variable -> value as ECS would inject them, or the reason the task cannot start."""
    backend = secretsmanager_backends[account][region]
    values = {}
    for entry in container.get("secrets") or []:
        value_from = entry.get("valueFrom", "")
        parts = value_from.split(":")
        # arn:aws:secretsmanager:<region>:<account>:secret:<name>[:<json-key>:<stage>:<version>]
        arn = ":".join(parts[:7])
        key, stage, version = (parts[7:] + ["", "", ""])[:3]
        try:
            secret = backend.get_secret_value(arn, version or None, stage or None)
            text = secret["SecretString"]
            value = text
            if key:
                document = json.loads(text)
                if key not in document:
                    raise KeyError(f"json key {key} not found in the secret")
                value = str(document[key])
        except Exception as error:  # noqa: BLE001 - every failure is the task's, as on ECS
            return {}, (
                "ResourceInitializationError: unable to pull secrets or registry auth: "
                f"execution resource retrieval failed: unable to retrieve secret from asm: "
                f"failed to fetch secret {arn} from secrets manager: {type(error).__name__}: {error}"
            )
        values[entry.get("name")] = value
    return values, None


def _log_target(container: dict, task_id: str, account: str, region: str) -> tuple[str, str, str | None]:
    options = (container.get("logConfiguration") or {}).get("options") or {}
    group = options.get("awslogs-group", "")
    stream = f'{options.get("awslogs-stream-prefix", "")}/{CONTAINER}/{task_id}'
    if group not in logs_backends[account][region].groups:
        return group, stream, (
            "ResourceInitializationError: failed to validate logger args: "
            f"The specified log group does not exist: {group}"
        )
    return group, stream, None


def _lines(result: dict) -> list[str]:
    bots = result.get("bots") or []
    lines = []
    for bot in bots:
        source, target = int(bot["source_rows"]), int(bot["target_rows"])
        row = {"bot": bot["bot"], "source_rows": source, "target_rows": target, "copied": target, "ok": source == target}
        lines.append(LINE_PREFIX + json.dumps(row, separators=(",", ":")))
    mismatched = sum(1 for bot in bots if int(bot["source_rows"]) != int(bot["target_rows"]))
    summary = {
        "summary": True,
        "bots": len(bots),
        "source_rows": sum(int(b["source_rows"]) for b in bots),
        "target_rows": sum(int(b["target_rows"]) for b in bots),
        "copied": sum(int(b["target_rows"]) for b in bots),
        "mismatched": mismatched,
        "ok": mismatched == 0,
    }
    lines.extend(result.get("stderr") or [])
    if result.get("summary", True):
        lines.append(LINE_PREFIX + json.dumps(summary, separators=(",", ":")))
    return lines


def _write_log(group: str, stream: str, lines: list[str], account: str, region: str) -> None:
    backend = logs_backends[account][region]
    backend.ensure_log_stream(group, stream)
    now = int(time.time() * 1000)
    backend.put_log_events(group, stream, [{"timestamp": now, "message": line} for line in lines])


def _stop_uninitialized(task: Any, reason: str) -> None:
    for container in task.containers:
        container.last_status = "STOPPED"
        container.exitCode = None
    task.last_status = "STOPPED"
    task.desired_status = "STOPPED"
    task.stopped_reason = reason
    task.stopped_at = datetime.now(timezone.utc)


def play(
    task: Any,
    backend: Any,
    container: dict,
    schedule: Callable[[float, Callable[[], None]], None],
    stop: Callable[[Any, int, str], None],
) -> None:
    task_id = task.task_arn.split("/")[-1]
    task_definition = backend.describe_task_definition(task.task_definition_arn)
    account, region = backend.account_id, backend.region_name
    with _lock:
        result = copy.deepcopy(_result)
        record = {
            "task_arn": task.task_arn,
            "task_definition_arn": task_definition.arn,
            "task_definition": {
                "family": task_definition.family,
                "execution_role_arn": getattr(task_definition, "execution_role_arn", None),
                "container_definitions": copy.deepcopy(task_definition.container_definitions),
            },
            "cluster": task.cluster_name,
            "started_by": task.started_by,
            "overrides": copy.deepcopy(task.overrides),
            "network_configuration": copy.deepcopy(getattr(task, "network_configuration", None)),
            "resolved_secrets": [],
            "exit_code": None,
            "stopped_reason": None,
        }
        _tasks.append(record)
    # Our tasks keep the status we give them: no moto state-manager progression.
    task._transitions = []
    task.last_status = "PROVISIONING"

    def finish_record(exit_code: int | None, reason: str) -> None:
        with _lock:
            record.update(exit_code=exit_code, stopped_reason=reason)

    def start() -> None:
        problem = None
        if not getattr(task_definition, "execution_role_arn", None):
            problem = (
                "ResourceInitializationError: the task definition has secrets and no execution role "
                "to retrieve them"
            )
        values: dict = {}
        if problem is None:
            values, problem = _resolve_secrets(container, account, region)
        group, stream, log_problem = _log_target(container, task_id, account, region)
        problem = problem or log_problem
        if problem is not None:
            _stop_uninitialized(task, problem)
            finish_record(None, problem)
            return
        with _lock:
            record["resolved_secrets"] = sorted(values)
        task.last_status = "RUNNING"
        for c in task.containers:
            c.last_status = "RUNNING"

        def finish() -> None:
            bots = result.get("bots") or []
            matching = all(int(b["source_rows"]) == int(b["target_rows"]) for b in bots)
            exit_code = result.get("exit_code")
            if exit_code is None:
                exit_code = 0 if matching else 3
            _write_log(group, stream, _lines(result), account, region)
            stop(task, int(exit_code), "Essential container in task exited")
            finish_record(int(exit_code), "Essential container in task exited")

        schedule(float(result.get("seconds", 0.3)), finish)

    schedule(0.05, start)


def _admin(request: Any, full_url: str, headers: Any) -> Any:
    global _result
    with _lock:
        if request.method == "POST":
            body = admin.read_json(request, headers)
            _result = {**copy.deepcopy(DEFAULT_RESULT), **body}
        return admin.answer({"result": _result, "tasks": copy.deepcopy(_tasks)})


def apply() -> None:
    admin.register("copy-result", _admin)
