"""The process's live hub for endpoints: `hub: AppHub`."""

from typing import Annotated

from fastapi import Depends, Request

from lifeceo.platform.pubsub.hub import LiveHub


# async: FastAPI runs a plain `def` dependency in a worker thread, a hop on every request.
async def app_hub(request: Request) -> LiveHub:
    return request.app.state.live


AppHub = Annotated[LiveHub, Depends(app_hub)]
