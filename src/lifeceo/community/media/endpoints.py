"""HTTP endpoints of media: upload, metadata, original and variant content, deletion."""

from typing import Annotated

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    File,
    Header,
    Path,
    Request,
    Response,
    UploadFile,
    status,
)

from lifeceo.community.media.models import Media
from lifeceo.community.media.presentation import image_of, shown
from lifeceo.community.media.schemas import MediaOut
from lifeceo.community.media.service import (
    Served,
    discard,
    media_service,
    media_storage,
    variant_keys,
    variant_storage,
)
from lifeceo.community.users.dependencies import CurrentUser, OptionalViewer, optional_viewer
from lifeceo.platform.cache import AppCache
from lifeceo.platform.db.session import DbSession
from lifeceo.platform.http.pagination import RowId
from lifeceo.platform.httpcache.policy import PRIVATE
from lifeceo.platform.ratelimit import rate_limit
from lifeceo.platform.storage import MediaStorage
from lifeceo.settings import get_settings

router = APIRouter(tags=["media"])
Storage = Annotated[MediaStorage, Depends(media_storage)]
VariantStorage = Annotated[MediaStorage, Depends(variant_storage)]
# Content never changes under a URL (an original or its largest rendition under its media id, a
# variant under a name that holds its digest), so caches may keep it for ever; while a public
# post shows it, that is: the rest is private, and revoked by a 404 as soon as no post the
# reader may see shows it.
CONTENT_CACHE_CONTROL = "public, max-age=31536000, immutable"
# processing.Variant.name: width, digest prefix, extension.
VARIANT_NAME = r"^[0-9]{1,5}w-[0-9a-f]{16}\.(webp|jpg)$"
IMAGE_CONTENT = {"image/jpeg": {}, "image/png": {}, "image/webp": {}}


def _out(request: Request, media: Media) -> MediaOut:
    return MediaOut(**shown(image_of(media)).model_dump(), content_type=media.content_type,
                    byte_size=media.byte_size, failure_reason=media.failure_reason,
                    created_at=media.created_at,
                    url=request.app.url_path_for("media_content", media_id=media.id))


def _content(served: Served) -> Response:
    headers = {"ETag": served.etag,
               "Cache-Control": CONTENT_CACHE_CONTROL if served.public else PRIVATE}
    if served.data is None:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    headers |= {"X-Content-Type-Options": "nosniff", "Content-Disposition": "inline"}
    return Response(served.data, media_type=served.content_type, headers=headers)


@router.post("/media", status_code=status.HTTP_201_CREATED, response_model=MediaOut,
             dependencies=[rate_limit("uploads", viewer=optional_viewer)])
async def upload_media(file: Annotated[UploadFile, File(description="a JPEG, PNG or WebP image")],
                       user: CurrentUser, session: DbSession, storage: Storage, request: Request):
    # One byte over the limit is enough for the service to tell that the file is too large.
    data = await file.read(get_settings().max_upload_bytes + 1)
    media = await media_service.upload(session=session, storage=storage, owner=user, data=data)
    return _out(request, media)


@router.get("/media/{media_id}", response_model=MediaOut)
async def media_metadata(media_id: RowId, viewer: OptionalViewer, session: DbSession,
                         request: Request, response: Response):
    readable = await media_service.readable(session=session, media_id=media_id, viewer=viewer)
    if not readable.public:
        # Not for shared caches (the cache policy would share an anonymous read of this route).
        response.headers["Cache-Control"] = PRIVATE
    return _out(request, readable.media)


@router.get("/media/{media_id}/content", name="media_content", response_class=Response,
            responses={200: {"content": IMAGE_CONTENT},
                       304: {"description": "The client's copy is current"}})
async def media_content(media_id: RowId, viewer: OptionalViewer, session: DbSession,
                        storage: Storage, variants: VariantStorage,
                        if_none_match: Annotated[str | None, Header(max_length=1000)] = None):
    """The original upload, byte for byte, for its owner; for anyone else the largest rendered
    variant, without the original's metadata (404 until it is processed)."""
    return _content(await media_service.content(
        session=session, originals=storage, variants=variants, media_id=media_id,
        viewer=viewer, if_none_match=if_none_match))


@router.get("/media/{media_id}/variants/{name}", name="media_variant", response_class=Response,
            responses={200: {"content": IMAGE_CONTENT},
                       304: {"description": "The client's copy is current"}})
async def media_variant(media_id: RowId,
                        name: Annotated[str, Path(pattern=VARIANT_NAME, max_length=40)],
                        viewer: OptionalViewer, session: DbSession, storage: VariantStorage,
                        if_none_match: Annotated[str | None, Header(max_length=1000)] = None):
    """A rendered variant (upright, without metadata); the URLs are listed by the media."""
    return _content(await media_service.variant(
        session=session, storage=storage, media_id=media_id, viewer=viewer, name=name,
        if_none_match=if_none_match))


@router.delete("/media/{media_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_media(media_id: RowId, user: CurrentUser, session: DbSession, storage: Storage,
                       variants: VariantStorage, background: BackgroundTasks,
                       cache: AppCache) -> Response:
    media = await media_service.delete(session=session, cache=cache, actor=user,
                                       media_id=media_id)
    # Background tasks run after the request's transaction has committed: if the commit fails,
    # the row and its files all stay.
    background.add_task(storage.delete, media.storage_key)
    background.add_task(discard, variants, variant_keys(media))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
