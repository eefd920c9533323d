"""The emulator's admin endpoints, `/moto-api/emulator/<name>`: JSON in (POST), JSON out; and
the countdowns the patches keep of answers still to show a resource as in progress."""

import json
from typing import Any, Callable, Optional


def read_json(request: Any, headers: Any) -> dict:
    """The POSTed JSON body, `{}` when there is none."""
    size = int(headers.get("Content-Length") or 0)
    body = request.environ["wsgi.input"].read(size).decode("utf-8") if size else ""
    return json.loads(body or "{}")


def answer(document: Any) -> Any:
    return 200, {"Content-Type": "application/json"}, json.dumps(document)


def register(name: str, handler: Callable[[Any, str, Any], Any]) -> None:
    from moto.moto_api._internal import urls

    urls.url_paths["{0}/moto-api/emulator/" + name] = handler


def register_knobs(name: str, knobs: dict) -> None:
    """`POST /moto-api/emulator/<name>` merges its JSON into `knobs`; any call answers them."""

    def handler(request: Any, full_url: str, headers: Any) -> Any:
        if request.method == "POST":
            knobs.update(read_json(request, headers))
        return answer(knobs)

    register(name, handler)


class Countdown:
    """Per resource, how many more answers show it as still in progress (`creating`,
    `CREATING`): AWS makes snapshots, backups and restores asynchronously, moto at once."""

    def __init__(self) -> None:
        self._left: dict[str, int] = {}

    def start(self, key: str, answers: int) -> None:
        """The next `answers` looks at `key` show it in progress, the one after ends it."""
        self._left[key] = max(answers, 0)

    def forget(self, key: str) -> None:
        self._left.pop(key, None)

    def tick(self, key: str) -> Optional[bool]:
        """One look at `key`: True while it is still in progress, False at the look that ends
        it (the caller sets its final status then), None when it is not counted (any more)."""
        left = self._left.get(key)
        if left is None:
            return None
        if left > 0:
            self._left[key] = left - 1
            return True
        del self._left[key]
        return False
