"""The roles this deployment knows, and the scopes each grants.

`user` (everyone) and `admin` (the admin API) are built in; AUTH_ROLES declares the
others and may give any role scopes. A token's `scope` is the union of its roles'."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from quizauth_wire import BUILT_IN_ROLES, with_user_role


@dataclass(frozen=True)
class RoleCatalog:
    grants: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, declared: Mapping[str, Iterable[str]]) -> RoleCatalog:
        grants: dict[str, frozenset[str]] = {role: frozenset() for role in BUILT_IN_ROLES}
        grants.update({role: frozenset(scopes) for role, scopes in declared.items()})
        return cls(grants)

    @property
    def names(self) -> list[str]:
        return sorted(self.grants)

    def unknown(self, roles: Iterable[str]) -> list[str]:
        return sorted(set(roles) - self.grants.keys())

    def scopes_for(self, roles: Iterable[str]) -> frozenset[str]:
        """Scopes of known roles only: a role stored once and no longer declared grants
        nothing, rather than stopping the user's tokens."""
        return frozenset(s for r in with_user_role(roles) for s in self.grants.get(r, ()))


BUILT_IN_CATALOG = RoleCatalog.of({})
