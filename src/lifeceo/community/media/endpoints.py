"""HTTP endpoints of media."""

from fastapi import APIRouter

router = APIRouter(tags=["media"])
