"""The account lifecycle, one service over its three groups of flows (email_flows.py,
password_flows.py, closure.py)."""

from __future__ import annotations

from auth_api.accounts.closure import ClosureFlows
from auth_api.accounts.email_flows import EmailFlows
from auth_api.accounts.lifecycle_base import LifecycleDeps
from auth_api.accounts.password_flows import PasswordFlows


class LifecycleService:
    def __init__(self, deps: LifecycleDeps) -> None:
        self.email = EmailFlows(deps)
        self.password = PasswordFlows(deps)
        self.closure = ClosureFlows(deps)
