"""The admin API under /admin/: every route needs a bearer token with the admin role,
re-checked against the store on each call (AdminService.authorize)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from auth_api.admin.listing import DEFAULT_LIMIT, MAX_CURSOR_KEY, MAX_LIMIT, ListRequest
from auth_api.admin.service import Actor
from auth_api.api.admin_schemas import (
    AdminUser,
    AdminUserDetail,
    DisableRequest,
    RoleInfo,
    RolesRequest,
    UserPageResponse,
)
from auth_api.api.deps import ClaimsDep, ServicesDep
from auth_api.http.problem import BEARER_PROBLEMS, INPUT_PROBLEMS, PROBLEM, TOO_LARGE
from quizauth_wire import BUILT_IN_ROLES, MAX_ROLE_LENGTH

NO_CONTENT = status.HTTP_204_NO_CONTENT
# Every admin route may answer these besides its own: no token, not an admin, bad input.
# 413 and 431 come from the body limit and the server's head limit, on every route.
ADMIN_PROBLEMS = {**BEARER_PROBLEMS, **INPUT_PROBLEMS, **TOO_LARGE, 403: PROBLEM}
ON_A_USER = {**ADMIN_PROBLEMS, 404: PROBLEM}


async def get_admin(claims: ClaimsDep, services: ServicesDep) -> Actor:
    return await services.admin.authorize(claims)


AdminDep = Annotated[Actor, Depends(get_admin)]
router = APIRouter(prefix="/admin", tags=["admin"], responses=ADMIN_PROBLEMS)


def no_store(response: Response) -> None:
    response.headers["Cache-Control"] = "no-store"  # users' data: no cache keeps it


@router.get("/users")
async def list_users(
    actor: AdminDep,
    services: ServicesDep,
    response: Response,
    email_prefix: Annotated[str, Query(max_length=254)] = "",
    role: Annotated[str | None, Query(min_length=1, max_length=MAX_ROLE_LENGTH)] = None,
    disabled: bool | None = None,
    cursor: Annotated[str | None, Query(min_length=1, max_length=MAX_CURSOR_KEY * 2)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> UserPageResponse:
    """Users by email, `limit` at a time; `next_cursor` fetches the next page."""
    request = ListRequest(email_prefix, role, disabled, cursor, limit)
    page = await services.admin.list_users(actor, request)
    no_store(response)
    return UserPageResponse.of(page)


@router.get("/roles")
async def list_roles(actor: AdminDep, services: ServicesDep) -> list[RoleInfo]:
    """The roles this deployment knows (AUTH_ROLES and the built-in ones) and their scopes."""
    catalog = services.admin.known_roles(actor)
    return [
        RoleInfo(name=name, scopes=sorted(catalog.grants[name]), built_in=name in BUILT_IN_ROLES)
        for name in catalog.names
    ]


@router.get("/users/{user_id}", responses={404: PROBLEM})
async def get_user(
    user_id: str, actor: AdminDep, services: ServicesDep, response: Response
) -> AdminUserDetail:
    """Profile, roles, state, and sessions (never their secrets)."""
    detail = await services.admin.detail(actor, user_id)
    no_store(response)
    return AdminUserDetail.of_detail(detail)


@router.put("/users/{user_id}/roles", responses={404: PROBLEM, 409: PROBLEM})
async def set_roles(
    user_id: str, body: RolesRequest, actor: AdminDep, services: ServicesDep
) -> AdminUser:
    """Exactly these roles (`user` is implied). The user's access tokens issued before
    stop working, so the next refresh carries the new roles. 409 `LAST_ADMIN` when
    this would leave no active admin."""
    return AdminUser.of(await services.admin.set_roles(actor, user_id, body.roles))


@router.post("/users/{user_id}/disable", responses={404: PROBLEM, 409: PROBLEM})
async def disable_user(
    user_id: str, body: DisableRequest, actor: AdminDep, services: ServicesDep
) -> AdminUser:
    """Every session ends and every token stops working, on every instance, at once."""
    return AdminUser.of(await services.admin.disable(actor, user_id, body.reason))


@router.post("/users/{user_id}/enable", responses={404: PROBLEM})
async def enable_user(user_id: str, actor: AdminDep, services: ServicesDep) -> AdminUser:
    return AdminUser.of(await services.admin.enable(actor, user_id))


@router.post("/users/{user_id}/logout-all", status_code=NO_CONTENT, responses={404: PROBLEM})
async def logout_user_everywhere(user_id: str, actor: AdminDep, services: ServicesDep) -> Response:
    await services.admin.logout_all(actor, user_id)
    return Response(status_code=NO_CONTENT)


@router.delete("/users/{user_id}/rate-limits", status_code=NO_CONTENT, responses={404: PROBLEM})
async def lift_rate_limits(user_id: str, actor: AdminDep, services: ServicesDep) -> Response:
    """Lifts the account's login throttle, from every address."""
    await services.admin.lift_rate_limits(actor, user_id)
    return Response(status_code=NO_CONTENT)
