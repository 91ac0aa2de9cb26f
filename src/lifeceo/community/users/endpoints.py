"""HTTP endpoints of authentication, profiles and follows."""

from fastapi import APIRouter, Request, Response, status

from lifeceo.community.users.dependencies import CSRF_COOKIE, SESSION_COOKIE, CurrentUser
from lifeceo.community.users.schemas import (
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
from lifeceo.platform.db.session import DbSession
from lifeceo.platform.http.pagination import Page, PageParams, Pagination, page_of
from lifeceo.settings import get_settings

router = APIRouter(tags=["users"])


@router.post("/auth/register", status_code=status.HTTP_201_CREATED, response_model=Me)
async def register(body: Register, session: DbSession):
    return await user_service.register(session=session, username=body.username, email=body.email,
                                       password=body.password)


@router.post("/auth/login", response_model=LoginResult)
async def login(body: Login, session: DbSession, response: Response):
    token, expires_at, user = await user_service.login(session=session, login=body.username,
                                                       password=body.password)
    csrf = csrf_token_for(token)
    secure = get_settings().env == "production"
    max_age = get_settings().session_ttl_seconds
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax",
                        secure=secure)
    # Readable by the page's script, which echoes it in X-CSRF-Token.
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, samesite="lax", secure=secure)
    return LoginResult(token=token, expires_at=expires_at, csrf_token=csrf,
                       user=Me.model_validate(user))


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(user: CurrentUser, request: Request, session: DbSession) -> Response:
    await user_service.logout(session=session, session_id=request.state.auth_session_id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return response


@router.get("/me", response_model=Me)
async def me(user: CurrentUser):
    return user


@router.patch("/me", response_model=Me)
async def update_me(body: ProfileUpdate, user: CurrentUser, session: DbSession):
    return await user_service.update_profile(session=session, user=user,
                                             changes=body.model_dump(exclude_unset=True))


@router.get("/users/{username}", response_model=PublicUser)
async def profile(username: UsernamePath, session: DbSession):
    return await user_service.get(session=session, username=username)


@router.patch("/users/{username}/admin", response_model=Me)
async def admin_update(username: UsernamePath, body: AdminUpdate, user: CurrentUser, session: DbSession):
    return await user_service.admin_update(session=session, actor=user, username=username,
                                           changes=body.model_dump(exclude_unset=True))


@router.post("/users/{username}/follow", response_model=FollowState)
async def follow(username: UsernamePath, user: CurrentUser, session: DbSession):
    followee = await user_service.follow(session=session, follower=user, username=username)
    return FollowState(following=True, followers_count=followee.followers_count)


@router.delete("/users/{username}/follow", response_model=FollowState)
async def unfollow(username: UsernamePath, user: CurrentUser, session: DbSession):
    followee = await user_service.unfollow(session=session, follower=user, username=username)
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
