"""HTTP endpoints of authentication, profiles and follows."""


from fastapi import APIRouter, Request, Response, status

from lifeceo.community.users.dependencies import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    CurrentUser,
    optional_viewer,
)
from lifeceo.community.users.schemas import (
    USERNAME_PATTERN,
    AdminUpdate,
    FollowState,
    Login,
    LoginResult,
    Me,
    ProfileUpdate,
    PublicUser,
    Register,
    UsernamePath,
)
from lifeceo.community.users.service import csrf_token_for, user_service
from lifeceo.platform.batch.lookup import MAX_LOOKUP_ITEMS, Items, comma_separated
from lifeceo.platform.cache import AppCache
from lifeceo.platform.db.session import DbSession
from lifeceo.platform.http.openapi import problem_responses
from lifeceo.platform.http.pagination import Page, PageParams, Pagination, page_of
from lifeceo.platform.ratelimit import limit_failures, rate_limit
from lifeceo.settings import get_settings

router = APIRouter(tags=["users"])


def secure_cookies(request: Request) -> bool:
    """Cookies only over HTTPS: the request's own scheme, which uvicorn takes from
    X-Forwarded-Proto only for a trusted proxy; in production always, whatever a proxy says."""
    return request.url.scheme == "https" or get_settings().env == "production"


@router.post("/auth/register", status_code=status.HTTP_201_CREATED, response_model=Me,
             dependencies=[rate_limit("registration")], responses=problem_responses(409))
async def register(body: Register, session: DbSession):
    return await user_service.register(session=session, username=body.username, email=body.email,
                                       password=body.password)


# Failed logins only, per address: per attempted username would let anyone lock anyone out.
@router.post("/auth/login", response_model=LoginResult, dependencies=[limit_failures("auth")],
             responses=problem_responses(401))
async def login(body: Login, session: DbSession, request: Request, response: Response):
    token, expires_at, user = await user_service.login(session=session, login=body.username,
                                                       password=body.password)
    csrf = csrf_token_for(token)
    secure = secure_cookies(request)
    max_age = get_settings().session_ttl_seconds
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax",
                        secure=secure)
    # Readable by the page's script, which echoes it in X-CSRF-Token.
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, samesite="lax", secure=secure)
    return LoginResult(token=token, expires_at=expires_at, csrf_token=csrf,
                       user=Me.model_validate(user))


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(user: CurrentUser, request: Request, session: DbSession,
                 cache: AppCache) -> Response:
    await user_service.logout(session=session, cache=cache,
                              session_id=request.state.auth_session_id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    # Expired with the attributes of login: the replacement is no weaker than what it replaces.
    secure = secure_cookies(request)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=secure)
    response.delete_cookie(CSRF_COOKIE, samesite="lax", secure=secure)
    return response


@router.get("/me", response_model=Me)
async def me(user: CurrentUser):
    return user


@router.patch("/me", response_model=Me)
async def update_me(body: ProfileUpdate, user: CurrentUser, session: DbSession, cache: AppCache):
    return await user_service.update_profile(session=session, cache=cache, user=user,
                                             changes=body.model_dump(exclude_unset=True))


Usernames = comma_separated(
    str.lower, item=USERNAME_PATTERN.strip("^$"), item_chars=30,
    description=f"up to {MAX_LOOKUP_ITEMS} comma-separated usernames")


@router.get("/users", response_model=Items[PublicUser])
async def lookup_users(usernames: Usernames, session: DbSession, cache: AppCache):
    """Several profiles by username (as everywhere in this API), in the order asked; unknown
    names are absent."""
    return Items[PublicUser](items=await user_service.lookup(session=session, cache=cache,
                                                             usernames=usernames))


@router.get("/users/{username}", response_model=PublicUser)
async def profile(username: UsernamePath, session: DbSession, cache: AppCache):
    return await user_service.profile(session=session, cache=cache, username=username)


@router.patch("/users/{username}/admin", response_model=Me)
async def admin_update(username: UsernamePath, body: AdminUpdate, user: CurrentUser,
                       session: DbSession, cache: AppCache):
    return await user_service.admin_update(session=session, cache=cache, actor=user,
                                           username=username,
                                           changes=body.model_dump(exclude_unset=True))


@router.post("/users/{username}/follow", response_model=FollowState,
             dependencies=[rate_limit("follows", viewer=optional_viewer)])
async def follow(username: UsernamePath, user: CurrentUser, session: DbSession, cache: AppCache):
    followee = await user_service.follow(session=session, cache=cache, follower=user,
                                         username=username)
    return FollowState(following=True, followers_count=followee.followers_count)


@router.delete("/users/{username}/follow", response_model=FollowState)
async def unfollow(username: UsernamePath, user: CurrentUser, session: DbSession,
                   cache: AppCache):
    followee = await user_service.unfollow(session=session, cache=cache, follower=user,
                                           username=username)
    return FollowState(following=False, followers_count=followee.followers_count)


def _user_page(rows, page: PageParams) -> Page[PublicUser]:
    rows, next_cursor = page_of(rows, page, key=lambda row: (row[1], row[0].id))
    return Page[PublicUser](items=[PublicUser.model_validate(user) for user, _ in rows],
                            next_cursor=next_cursor)


@router.get("/users/{username}/followers", response_model=Page[PublicUser])
async def followers(username: UsernamePath, session: DbSession, page: Pagination):
    return _user_page(await user_service.followers(session=session, username=username, page=page), page)


@router.get("/users/{username}/following", response_model=Page[PublicUser])
async def following(username: UsernamePath, session: DbSession, page: Pagination):
    return _user_page(await user_service.following(session=session, username=username, page=page), page)
