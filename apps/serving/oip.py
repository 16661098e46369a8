"""The Open Inference Protocol (V2) as a client expects it, where KServe's server leaves it undone.

Pure ASGI middleware in front of KServe's routes (behind BodyLimit, so a body is bounded):

- model metadata, `GET /v2/models/<name>` and `GET /v2/models/<name>/versions/<v>`: the serving
  version's inputs (one per feature: FP64 or BYTES, shape [-1]), outputs, `versions` and `platform`,
  read from the model at request time, so a hot swap changes it;
- the versioned forms of `ready` and `infer` (KServe answers them with a 500): the version being served
  is answered like the plain path, any other one is a 404 that names the version served;
- `infer` itself. A body without a Content-Type (tritonclient's default for JSON) that is a JSON object
  is JSON; a binary request (JSON header + tensors) needs `inference-header-content-length`, a length
  within the body - else a 400 names the header; any content type but JSON or octet-stream is a 415.
  The request's structure is checked (schema.decode_v2) and it goes to the model directly: KServe's
  route would parse it with pydantic both ways and index the binary form blindly (a missing key is a
  500); this path answers the same in about 30% less time per request (make bench).

V1 stays KServe's: JSON with parameters (`application/json; charset=utf-8`) is made plain JSON for it
(it compares the whole header), and a JSON object without a Content-Type is JSON there too.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Protocol

import orjson
from kserve.errors import InvalidInput

from apps.common.http import ASGIApp, Receive, Scope, Send, read_body, send_json
from apps.serving.schema import decode_v2

V2_MODEL = re.compile(r"^/v2/models/(?P<model>[^/]+)(?:/versions/(?P<version>[^/]+))?(?P<action>/ready|/infer)?$")
V1_PREDICT = re.compile(r"^/v1/models/[^/:]+:predict$")
BINARY_HEADER = b"inference-header-content-length"
BINARY_TYPE = b"application/octet-stream"
log = logging.getLogger("apps.serving")


class Served(Protocol):
    """What the middleware needs of the predictor (a kserve.Model)."""

    name: str
    ready: bool

    def metadata(self) -> dict[str, Any]: ...

    async def __call__(self, body: Any, headers: dict[str, str] | None = None) -> Any: ...


class OpenInference:
    def __init__(self, app: ASGIApp, model: Served) -> None:
        self.app = app
        self.model = model

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope.get("path", ""), scope.get("method", "")
        match = V2_MODEL.match(path)
        if match is not None and match.group("model") == self.model.name:
            version, action = match.group("version"), match.group("action") or ""
            if version is not None:
                served = self.model.metadata()["versions"]
                if version not in served:
                    error = f"model {self.model.name!r} version {version!r} is not served here; it serves {served}"
                    await send_json(send, 404, {"error": error})
                    return
                plain = f"/v2/models/{self.model.name}{action}"
                scope = {**scope, "path": plain, "raw_path": plain.encode()}
            if not action and method in ("GET", "HEAD"):
                await send_json(send, 200, self.model.metadata())
                return
            if action == "/infer" and method == "POST":
                await self._infer(scope, receive, send)
                return
        elif match is not None and match.group("version") is not None:
            # KServe has no versioned routes of its own (it answers them 500): unknown model, 404.
            await send_json(send, 404, {"error": f"model {match.group('model')!r} is not served here"})
            return
        elif method == "POST" and V1_PREDICT.match(path) is not None:
            await self._v1(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _v1(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k.lower(), v) for k, v in scope.get("headers", [])]
        media = _media_type(headers)
        if media is not None and _is_json(media):
            headers = [(k, media if k == b"content-type" else v) for k, v in headers]
        elif media is None:
            body, receive = await read_body(receive)
            if body.lstrip()[:1] == b"{":
                headers.append((b"content-type", b"application/json"))
        await self.app({**scope, "headers": headers}, receive, send)  # anything else: KServe and the model refuse it

    async def _infer(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = [(k.lower(), v) for k, v in scope.get("headers", [])]
        media = _media_type(raw)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw}
        if media is not None and not _is_json(media) and media != BINARY_TYPE:
            await _client_error(scope, send, 415, f"content type {media.decode(errors='replace')[:60]!r} is not "
                                "supported; send application/json, or application/octet-stream with "
                                "'inference-header-content-length' for binary tensors")  # fmt: skip
            return
        body, _ = await read_body(receive)
        declared = headers.get(BINARY_HEADER.decode())
        if declared is not None:
            if not (declared.strip().isdigit() and 0 < int(declared) <= len(body)):
                await _client_error(scope, send, 400, f"'inference-header-content-length' is {declared[:40]!r}: it "
                                    f"must be the length in bytes of the JSON part that starts the body, a whole "
                                    f"number from 1 to {len(body)}")  # fmt: skip
                return
            json_length = int(declared)
        elif (media is not None and _is_json(media)) or (media is None and body.lstrip()[:1] == b"{"):
            json_length = len(body)
        else:
            what = "a binary body (application/octet-stream)" if media else "a body that is not a JSON object"
            await _client_error(scope, send, 400, f"{what} needs the 'inference-header-content-length' header: the "
                                "length of the JSON part before the binary tensors; for a JSON request send a JSON "
                                "object (Content-Type: application/json)")  # fmt: skip
            return
        if not self.model.ready:
            await send_json(send, 503, {"error": f"model {self.model.name!r} is not ready"})
            return
        try:
            request = decode_v2(body, json_length, self.model.name)
            response, response_headers = await self.model(request, headers)
            payload, binary_length = response.to_rest()
        except InvalidInput as error:  # decode_v2 turns KServe's errors decoding a client's tensors into these
            await _client_error(scope, send, 400, str(error))
            return
        except Exception:
            log.exception("%s %s failed", scope.get("method"), scope.get("path"))
            await send_json(send, 500, {"error": "internal error; see the predictor's log"})
            return
        extra = [(k.encode("latin-1"), str(v).encode("latin-1")) for k, v in response_headers.items()]
        if binary_length is not None:
            content = payload
            extra += [(b"content-type", BINARY_TYPE), (BINARY_HEADER, str(binary_length).encode())]
        else:
            content = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
            extra.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": 200,
                    "headers": [*extra, (b"content-length", str(len(content)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": content})


def _media_type(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    declared = next((v for k, v in headers if k == b"content-type"), None)
    return declared.split(b";")[0].strip().lower() if declared is not None else None


def _is_json(media: bytes) -> bool:
    return media == b"application/json" or media.endswith(b"+json")


async def _client_error(scope: Scope, send: Send, status: int, error: str) -> None:
    """Answer a client's mistake: one log line, no traceback (as the app's other 4xx)."""
    log.warning("%d %s %s: %s", status, scope.get("method"), scope.get("path"), error[:300])
    await send_json(send, status, {"error": error})
