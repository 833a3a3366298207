"""A wire-level emulator of Runpod's GraphQL API on 127.0.0.1, for the unmodified runpod SDK.

Point the SDK at it with `RUNPOD_API_BASE_URL=emulator.url`. Requests are parsed and executed with
graphql-core against `runpod_schema.SDL`, so the inline arguments the SDK writes are validated as Runpod
would. Each created Pod runs a real OpenSSH sshd (or a banner-only server) on a loopback port, with its
own workspace directory, reported to clients through the Pod env `PODSMITH_WORKSPACE`.

Fault knobs: `no_capacity`, `set_stock`, `fail` (401/403/429/5xx/non-JSON responses), `drop`,
`create_then_error`, and `pod_behaviour`/`queue_behaviours` for slow starts, null runtime or ports, no
public IP and Pods that exit while starting. `requests` logs every request without its Authorization
header, which is kept apart in `auth_headers`.

Use the `runpod_emulator` fixture by importing it into a conftest.py.
"""

from __future__ import annotations

import json
import secrets
import string
import threading
from collections import deque
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
from graphql import GraphQLError, graphql_sync

from .runpod_http import DEFAULT_BODIES, HttpFault, LoggedRequest, Response, handler_for, root_fields
from .runpod_pods import EmulatedPod, PodBehaviour, session_user
from .runpod_schema import SCHEMA, GpuTypeEntry, default_gpu_types

CAPACITY_MESSAGE = (
    "There are no longer any instances available with the requested specifications. Please refresh and try again."
)
NOT_FOUND_TO_TERMINATE = "pod not found to terminate"
GPU_COUNTS = (1, 2, 4, 6, 8)


class Forbidden(Exception):
    """A Pod-scoped key used outside its Pod; rejected with HTTP 403."""


class RunpodEmulator:
    """Runpod's GraphQL API for one account with key `api_key`, served on 127.0.0.1."""

    def __init__(self, root: Path, api_key: str | None = None) -> None:
        self.root = Path(root)
        self.api_key = api_key or "rpa_emulator_" + secrets.token_hex(12)
        self.gpu_types: dict[str, GpuTypeEntry] = {gpu.id: gpu for gpu in default_gpu_types()}
        self.pod_behaviour = PodBehaviour()
        self.pods: dict[str, EmulatedPod] = {}
        self.terminated: dict[str, EmulatedPod] = {}
        self.requests: list[LoggedRequest] = []
        self.auth_headers: list[str] = []
        self._stock: dict[tuple[str, int], str | None] = {}
        self._capacity: dict[tuple[str, str | None], str] = {}
        self._faults: deque[HttpFault] = deque()
        self._create_faults: deque[str] = deque()
        self._behaviours: deque[PodBehaviour] = deque()
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # Lifecycle

    def start(self) -> "RunpodEmulator":
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(self.respond))
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="runpod-emulator", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        """Stop the API server and every Pod's SSH server."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for pod in list(self.pods.values()):
            pod.stop_server()

    def __enter__(self) -> "RunpodEmulator":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the emulator first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def provider_environ(self, public_key: str, **extra: str) -> dict[str, str]:
        """Return the settings environment a provider under test needs, with fast polling and retries."""
        return {
            "RUNPOD_API_KEY": self.api_key,
            "SSH_PUBLIC_KEY": public_key,
            "PODSMITH_RUNPOD_POLL_INTERVAL_S": "0.05",
            "PODSMITH_RUNPOD_RETRY_BASE_S": "0.01",
            # Banner-only Pods never complete an SSH handshake; the watchdog install gives up quickly there.
            "PODSMITH_SSH_CONNECT_TIMEOUT_S": "2",
            **extra,
        }

    # Knobs

    def no_capacity(self, gpu_type_id: str, cloud_type: str | None = None, message: str = CAPACITY_MESSAGE) -> None:
        """Make creates of `gpu_type_id` fail with `message`, on `cloud_type` only or (None) on every cloud."""
        self._capacity[(gpu_type_id, cloud_type)] = message

    def set_stock(self, gpu_type_id: str, status: str | None, counts: tuple[int, ...] = GPU_COUNTS) -> None:
        """Set `stockStatus` ("High", "Medium", "Low" or None for not offered) for the given GPU counts."""
        for count in counts:
            self._stock[(gpu_type_id, count)] = status

    def fail(
        self,
        status: int,
        operation: str | None = None,
        *,
        times: int = 1,
        body: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Respond to the next `times` requests for `operation` (any when None) with `status` and a non-JSON body.

        A `body` of JSON text is sent as is, so a 200 with `{"errors": ...}` can be scripted too.
        """
        text = body if body is not None else DEFAULT_BODIES.get(status, f"<html><body>{status} Server Error</body></html>")
        self._faults.append(HttpFault(status, operation, text, retry_after, times))

    def drop(self, operation: str | None = None, times: int = 1) -> None:
        """Close the connection without a response, which a client sees as a timeout or a reset."""
        self._faults.append(HttpFault(None, operation, None, None, times))

    def create_then_error(self, style: str = "500", times: int = 1) -> None:
        """Create the Pod, then respond with a 500 ("500"), no response ("drop") or JSON without data ("no-data")."""
        if style not in ("500", "drop", "no-data"):
            raise ValueError(f"Invalid style {style!r}; use 500, drop or no-data.")
        self._create_faults.extend([style] * times)

    def queue_behaviours(self, *behaviours: PodBehaviour) -> None:
        """Use these behaviours for the next creates, in order, then `pod_behaviour` again."""
        self._behaviours.extend(behaviours)

    # Observations

    def live_pods(self) -> list[EmulatedPod]:
        """Return Pods that exist (any status but terminated); they would still cost money."""
        return list(self.pods.values())

    def count(self, operation: str) -> int:
        """Return how many requests contained `operation` as a root field."""
        return sum(operation in request.operations for request in self.requests)

    def log_text(self) -> str:
        """Return the whole request log as text, without Authorization headers."""
        return json.dumps([request.__dict__ for request in self.requests])

    # Request handling

    def respond(self, path: str, headers: dict[str, str], body: str) -> Response | None:
        authorization = headers.pop("authorization", "")
        with self._lock:
            entry = LoggedRequest(path, root_fields(body), body, headers)
            self.requests.append(entry)
            self.auth_headers.append(authorization)
            response = self._respond(entry, authorization)
            entry.status = response.status if response is not None else None
        return response

    def _respond(self, entry: LoggedRequest, authorization: str) -> Response | None:
        if entry.path.split("?")[0] != "/graphql":
            return Response(404, "Not Found")

        token = authorization.removeprefix("Bearer ").strip()
        scope = self._scope_for(token)
        if scope is None:
            return Response(401, json.dumps({"errors": [{"message": "Unauthorized"}]}))
        entry.scope = scope

        fault = self._take_fault(entry.operations)
        if fault is not None:
            if fault.status is None:
                return None
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            return Response(fault.status, fault.body or "", headers)

        try:
            query = json.loads(entry.body)["query"]
        except (ValueError, KeyError, TypeError):
            return Response(400, json.dumps({"errors": [{"message": "Request body must be JSON with a query."}]}))

        creates_before = self._creates
        result = graphql_sync(SCHEMA, query, root_value=self, context_value={"scope": scope})
        errors = result.errors or []
        if any(isinstance(error.original_error, Forbidden) for error in errors):
            return Response(403, json.dumps({"errors": [{"message": "Forbidden"}]}))
        payload: dict[str, Any] = {"data": result.data}
        if errors:
            payload["errors"] = [error.formatted for error in errors]

        if self._creates > creates_before and self._create_faults:
            style = self._create_faults.popleft()
            if style == "drop":
                return None
            if style == "no-data":
                return Response(200, json.dumps({"extensions": {}}))
            return Response(500, "<html><body>500 Internal Server Error</body></html>")
        return Response(400 if result.data is None and errors else 200, json.dumps(payload))

    def _scope_for(self, token: str) -> str | None:
        if token and secrets.compare_digest(token, self.api_key):
            return "account"
        for pod in self.pods.values():
            if token and secrets.compare_digest(token, pod.api_key):
                return f"pod:{pod.id}"
        return None

    def _take_fault(self, operations: list[str]) -> HttpFault | None:
        for fault in self._faults:
            if fault.operation is None or fault.operation in operations:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    @property
    def _creates(self) -> int:
        return len(self.pods) + len(self.terminated)

    # Resolvers: graphql-core calls root fields as methods with (info, **arguments).

    def gpuTypes(self, info: Any, input: dict | None = None) -> list[dict]:  # noqa: N802 - GraphQL field name
        _require_account(info)
        wanted = (input or {}).get("id")
        return [self._gpu_record(gpu) for gpu in self.gpu_types.values() if wanted in (None, gpu.id)]

    def pod(self, info: Any, input: dict) -> dict | None:
        pod = self.pods.get(input["podId"])
        _require_scope(info, input["podId"])
        if pod is None:
            return None
        pod.observe()
        return {**pod.record(), "runtime": pod.runtime()}

    def myself(self, info: Any) -> dict:
        _require_account(info)
        pods = [{**pod.record(), "runtime": pod.runtime()} for pod in self.pods.values()]
        return {"id": "user-emulator", "pods": pods}

    def podFindAndDeployOnDemand(self, info: Any, input: dict) -> dict:  # noqa: N802 - GraphQL field name
        _require_account(info)
        gpu_id = input.get("gpuTypeId") or ""
        gpu = self.gpu_types.get(gpu_id)
        if gpu is None:
            raise GraphQLError(f"GPU type {gpu_id} is not available.")
        count = input.get("gpuCount") or 1
        cloud = input.get("cloudType") or "ALL"
        self._check_capacity(gpu, count, cloud)

        pod_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(14))
        root = self.root / pod_id
        workspace = root / "workspace" / "podsmith"
        workspace.mkdir(parents=True)
        env = {item["key"]: item["value"] for item in input.get("env") or []}
        env.update({"RUNPOD_POD_ID": pod_id, "PODSMITH_WORKSPACE": str(workspace), "PODSMITH_SSH_USER": session_user()})
        behaviour = self._behaviours.popleft() if self._behaviours else self.pod_behaviour
        pod = EmulatedPod(
            id=pod_id,
            name=input.get("name") or "",
            image_name=input.get("imageName") or "",
            gpu_type_id=gpu.id,
            gpu_display_name=gpu.display_name,
            gpu_count=count,
            cloud_type=cloud,
            cost_per_hr=round(_price(gpu, cloud) * count, 4),
            env=env,
            behaviour=behaviour,
            root=root,
            workspace=workspace,
            volume_in_gb=input.get("volumeInGb") or 0,
            container_disk_in_gb=input.get("containerDiskInGb") or 0,
        )
        pod.start_server(self.url)
        self.pods[pod_id] = pod
        return pod.record()

    def podStop(self, info: Any, input: dict) -> dict:  # noqa: N802 - GraphQL field name
        _require_scope(info, input["podId"])
        pod = self.pods.get(input["podId"])
        if pod is None:
            raise GraphQLError("pod not found to stop")
        pod.desired_status = "EXITED"
        pod.stop_server()
        return pod.record()

    def podTerminate(self, info: Any, input: dict) -> None:  # noqa: N802 - GraphQL field name
        _require_scope(info, input["podId"])
        pod = self.pods.pop(input["podId"], None)
        if pod is None:
            raise GraphQLError(NOT_FOUND_TO_TERMINATE)
        pod.stop_server()
        pod.desired_status = "TERMINATED"
        self.terminated[pod.id] = pod

    def _check_capacity(self, gpu: GpuTypeEntry, count: int, cloud: str) -> None:
        for key in ((gpu.id, None), (gpu.id, cloud)):
            if key in self._capacity:
                raise GraphQLError(self._capacity[key])
        if cloud == "ALL" and (gpu.id, "SECURE") in self._capacity and (gpu.id, "COMMUNITY") in self._capacity:
            raise GraphQLError(self._capacity[(gpu.id, "SECURE")])
        if count > gpu.max_gpu_count or self._stock.get((gpu.id, count), "High") is None:
            raise GraphQLError(CAPACITY_MESSAGE)
        if _price(gpu, cloud) <= 0:
            raise GraphQLError(CAPACITY_MESSAGE)

    def _gpu_record(self, gpu: GpuTypeEntry) -> dict:
        def lowest_price(info: Any, input: dict | None = None) -> dict:
            options = input or {}
            count = options.get("gpuCount") or 1
            secure = options.get("secureCloud")
            if secure is None:
                cloud = "ALL"
            else:
                cloud = "SECURE" if secure else "COMMUNITY"
            price = _price(gpu, cloud)
            stock = self._stock.get((gpu.id, count), "High")
            if count > gpu.max_gpu_count or price <= 0:
                stock = None
            spot = gpu.secure_spot_price if cloud == "SECURE" else gpu.community_spot_price or gpu.secure_spot_price
            return {
                "gpuName": gpu.display_name,
                "gpuTypeId": gpu.id,
                "minimumBidPrice": spot,
                "uninterruptablePrice": price if price > 0 else None,
                "stockStatus": stock,
            }

        return {
            "id": gpu.id,
            "displayName": gpu.display_name,
            "manufacturer": "Nvidia",
            "memoryInGb": gpu.memory_gb,
            "maxGpuCount": gpu.max_gpu_count,
            "secureCloud": gpu.secure_price is not None,
            "communityCloud": gpu.community_price is not None,
            "securePrice": gpu.secure_price,
            "communityPrice": gpu.community_price,
            "secureSpotPrice": gpu.secure_spot_price,
            "communitySpotPrice": gpu.community_spot_price,
            "lowestPrice": lowest_price,
        }


def _price(gpu: GpuTypeEntry, cloud: str) -> float:
    prices = {"SECURE": [gpu.secure_price], "COMMUNITY": [gpu.community_price]}.get(
        cloud, [gpu.secure_price, gpu.community_price]
    )
    offered = [price for price in prices if price]
    return min(offered) if offered else 0.0


def _require_account(info: Any) -> None:
    if info.context["scope"] != "account":
        raise Forbidden()


def _require_scope(info: Any, pod_id: str) -> None:
    if info.context["scope"] not in ("account", f"pod:{pod_id}"):
        raise Forbidden()


@pytest.fixture
def runpod_emulator(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunpodEmulator]:
    """Start an emulator, point RUNPOD_API_BASE_URL at it, and give the SDK an empty HOME."""
    home = tmp_path_factory.mktemp("runpod-home")
    monkeypatch.setenv("HOME", str(home))
    emulator = RunpodEmulator(tmp_path_factory.mktemp("runpod-pods"))
    emulator.start()
    monkeypatch.setenv("RUNPOD_API_BASE_URL", emulator.url)
    yield emulator
    emulator.stop()
