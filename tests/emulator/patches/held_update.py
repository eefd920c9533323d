"""An update that stays in progress: on AWS an update takes minutes and the stack is
`UPDATE_IN_PROGRESS` meanwhile, so whoever executed it can die while CloudFormation goes on. moto
applies a change set within the ExecuteChangeSet call, so nothing could ever die mid-update.

`POST /moto-api/emulator/held-update`:
- `{"hold": true}`: the next executed change set starts (its stack `UPDATE_IN_PROGRESS`, the
  change set `EXECUTE_IN_PROGRESS`, a stack event "User Initiated") and stays so. One-shot.
- `{"wait_seconds": N}`: answers once an update is held (or after N seconds), so a test waits for
  the event instead of for time. The answer says `held` (the change set id, or null).
- `{"release": true}`: applies the held change set as an execute would have.

AWS documents the behaviour restored here:
- https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Stack.html
"""

import threading
from typing import Any

from moto.cloudformation import models

from . import admin, cloudformation_change_sets

_lock = threading.Lock()
_armed = False
_held: dict[str, Any] = {}
_held_event = threading.Event()


def _execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
    global _armed
    change_set = cloudformation_change_sets._find(self, change_set_name)
    with _lock:
        hold = _armed and change_set is not None and change_set.execution_status == "AVAILABLE"
        if hold:
            _armed = False
    if not hold:
        # Also the path of every AWS error (unknown change set, not executable).
        return _wrapped(self, change_set_name, stack_name)
    stack = self.stacks[change_set.stack_id]
    stack._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
    stack.status = "UPDATE_IN_PROGRESS"
    change_set.execution_status = "EXECUTE_IN_PROGRESS"
    with _lock:
        _held.update(backend=self, change_set_id=change_set.change_set_id, stack_name=stack_name)
    _held_event.set()


def _release() -> None:
    with _lock:
        held = dict(_held)
        _held.clear()
        _held_event.clear()
    if not held:
        return
    backend = held["backend"]
    change_set = cloudformation_change_sets._find(backend, held["change_set_id"])
    if change_set is None:
        return
    change_set.execution_status = "AVAILABLE"
    _wrapped(backend, held["change_set_id"], held["stack_name"])


def _state() -> dict:
    with _lock:
        return {"armed": _armed, "held": _held.get("change_set_id")}


def _admin(request: Any, full_url: str, headers: Any) -> Any:
    global _armed
    if request.method == "POST":
        knobs = admin.read_json(request, headers)
        if knobs.get("hold"):
            with _lock:
                _armed = True
        if "wait_seconds" in knobs:
            _held_event.wait(timeout=float(knobs["wait_seconds"]))
        if knobs.get("release"):
            _release()
    return admin.answer(_state())


_wrapped = None


def apply() -> None:
    # After cloudformation_change_sets.apply(): the held update wraps its execute (AWS's errors,
    # the failing update, the template and outputs of the executed change set).
    global _wrapped
    _wrapped = models.CloudFormationBackend.execute_change_set
    models.CloudFormationBackend.execute_change_set = _execute_change_set
    admin.register("held-update", _admin)
