"""The emulator's admin endpoints, `/moto-api/emulator/<name>`: JSON in (POST), JSON out."""

import json
from typing import Any, Callable


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
