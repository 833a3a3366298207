"""The HF token's owner and rights, read from the Hub's `/api/whoami-v2`.

Classic tokens carry a role (`read` or `write`). Fine-grained tokens carry permissions per entity (a user or
an organization) such as `repo.write`. Writing to an organization also needs membership with a role other
than `read`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from podsmith_core.hub.client import HubAccess, network_errors, short_error, status_of

WRITE_ROLES = frozenset({"write", "admin"})
ORG_WRITE_ROLES = frozenset({"admin", "write", "contributor"})


@dataclass
class TokenInfo:
    """Token owner, classic role, organizations and fine-grained scopes, as whoami returns them."""

    user: str
    role: str | None
    orgs: dict[str, str] = field(default_factory=dict)
    scoped: dict[str, set[str]] = field(default_factory=dict)
    fine_grained: bool = False
    can_read_gated: bool = True


@dataclass
class TokenCheck:
    """The result of asking whoami: `info` when the token works, otherwise `problem` (invalid or unreachable)."""

    info: TokenInfo | None = None
    problem: str | None = None
    detail: str = ""


def parse_whoami(data: Mapping[str, Any]) -> TokenInfo:
    access = ((data.get("auth") or {}).get("accessToken")) or {}
    fine = access.get("fineGrained")
    scoped: dict[str, set[str]] = {}
    if isinstance(fine, Mapping):
        for entry in fine.get("scoped") or []:
            entity = (entry.get("entity") or {}).get("name")
            if entity:
                scoped.setdefault(entity, set()).update(entry.get("permissions") or [])
    orgs = {org["name"]: str(org.get("roleInOrg") or "read") for org in data.get("orgs") or [] if org.get("name")}
    return TokenInfo(
        user=str(data.get("name") or ""),
        role=access.get("role"),
        orgs=orgs,
        scoped=scoped,
        fine_grained=isinstance(fine, Mapping) or access.get("role") == "fineGrained",
        can_read_gated=bool(fine.get("canReadGatedRepos", False)) if isinstance(fine, Mapping) else True,
    )


def write_access_problem(info: TokenInfo, namespace: str) -> str | None:
    """Return why the token cannot create and push repositories under `namespace`, or None when it can."""
    is_org = namespace != info.user
    if is_org and namespace not in info.orgs:
        return f"{info.user} is not a member of {namespace}"
    if is_org and info.orgs[namespace] not in ORG_WRITE_ROLES:
        return f"{info.user} has the {info.orgs[namespace]!r} role in {namespace}"
    if info.fine_grained:
        if "repo.write" not in info.scoped.get(namespace, set()):
            return f"the fine-grained token has no repo.write permission for {namespace}"
        return None
    if info.role not in WRITE_ROLES:
        return f"it is a {info.role or 'read'} token"
    return None


def check_token(hub: HubAccess) -> TokenCheck:
    """Call whoami with the run's token; HTTP errors and network failures are returned as `problem`."""
    from huggingface_hub.errors import HfHubHTTPError

    if not hub.token:
        return TokenCheck(problem="missing")
    try:
        data = hub.api().whoami(token=hub.token)
    except HfHubHTTPError as exc:
        if status_of(exc) == 401:
            return TokenCheck(problem="invalid", detail=short_error(exc))
        return TokenCheck(problem="error", detail=short_error(exc))
    except network_errors() as exc:
        return TokenCheck(problem="unreachable", detail=short_error(exc))
    return TokenCheck(info=parse_whoami(data))
