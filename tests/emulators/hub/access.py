"""Tokens known to the Hub emulator and the access rules the real Hub applies to them."""

from __future__ import annotations

from dataclasses import dataclass, field

from .repos import Repo

ORG_WRITE_ROLES = ("admin", "write", "contributor")


@dataclass
class Principal:
    """A token's owner and rights: classic `role` (read or write) or fine-grained permissions per entity."""

    user: str
    role: str = "write"
    orgs: dict[str, str] = field(default_factory=dict)
    fine_grained: dict[str, list[str]] | None = None
    can_read_gated: bool = True

    def whoami(self) -> dict:
        """Return the `/api/whoami-v2` body for this token, shaped like the Hub's."""
        access: dict = {"displayName": f"{self.user}-token", "role": self.role, "createdAt": "2025-01-01T00:00:00Z"}
        if self.fine_grained is not None:
            access["role"] = "fineGrained"
            access["fineGrained"] = {
                "canReadGatedRepos": self.can_read_gated,
                "global": ["discussion.write", "post.write"],
                "scoped": [
                    {
                        "entity": {"_id": f"id-{entity}", "type": "user" if entity == self.user else "org", "name": entity},
                        "permissions": list(permissions),
                    }
                    for entity, permissions in self.fine_grained.items()
                ],
            }
        return {
            "type": "user",
            "id": f"id-{self.user}",
            "name": self.user,
            "fullname": self.user.title(),
            "email": f"{self.user}@example.com",
            "emailVerified": True,
            "canPay": False,
            "isPro": False,
            "periodEnd": None,
            "avatarUrl": "",
            "orgs": [
                {"type": "org", "id": f"id-{org}", "name": org, "fullname": org.title(), "roleInOrg": role}
                for org, role in self.orgs.items()
            ],
            "auth": {"type": "access_token", "accessToken": access},
        }

    def _scoped(self, namespace: str) -> list[str]:
        return list((self.fine_grained or {}).get(namespace, []))

    def member_of(self, namespace: str) -> bool:
        return namespace == self.user or namespace in self.orgs

    def can_read(self, repo: Repo) -> bool:
        """Return whether the repository is visible to this token (public, or private in its namespace)."""
        if not repo.private:
            return True
        if not self.member_of(repo.namespace):
            return False
        if self.fine_grained is not None:
            return any(perm.startswith("repo.") for perm in self._scoped(repo.namespace))
        return True

    def can_read_files(self, repo: Repo) -> bool:
        """Return whether the token may download files, which for a gated repository needs granted access."""
        if not self.can_read(repo):
            return False
        if not repo.gated or self.member_of(repo.namespace):
            return True
        return self.user in repo.granted and self.can_read_gated

    def can_write(self, namespace: str) -> bool:
        if not self.member_of(namespace):
            return False
        if namespace != self.user and self.orgs.get(namespace) not in ORG_WRITE_ROLES:
            return False
        if self.fine_grained is not None:
            return "repo.write" in self._scoped(namespace)
        return self.role in ("write", "admin")
