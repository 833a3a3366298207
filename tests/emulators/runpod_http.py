"""HTTP plumbing of the Runpod emulator: scripted faults, the request log, and the request handler."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable

from graphql import OperationDefinitionNode, parse
from graphql.error import GraphQLSyntaxError

DEFAULT_BODIES = {
    200: "upstream connect error or disconnect/reset before headers",
    403: "403 Forbidden",
    429: "Too Many Requests",
}


@dataclass
class HttpFault:
    """A scripted response for the next matching request; `status` None closes the connection unanswered."""

    status: int | None
    operation: str | None = None
    body: str | None = None
    retry_after: float | None = None
    times: int = 1


@dataclass
class LoggedRequest:
    """One request as received, without its Authorization header."""

    path: str
    operations: list[str]
    body: str
    headers: dict[str, str]
    status: int | None = None
    scope: str = "account"


@dataclass
class Response:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


def root_fields(body: str) -> list[str]:
    """Return the root field names of the request's GraphQL document; empty when it does not parse."""
    try:
        document = parse(json.loads(body)["query"])
    except (ValueError, KeyError, TypeError, GraphQLSyntaxError):
        return []
    names = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            names.extend(selection.name.value for selection in definition.selection_set.selections if hasattr(selection, "name"))
    return names


def handler_for(respond: Callable[[str, dict[str, str], str], Response | None]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            headers = {key.lower(): value for key, value in self.headers.items()}
            response = respond(self.path, headers, body)
            if response is None:
                self.close_connection = True
                return
            data = response.body.encode()
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json" if response.body.startswith("{") else "text/html")
            self.send_header("Content-Length", str(len(data)))
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            pass

    return Handler
