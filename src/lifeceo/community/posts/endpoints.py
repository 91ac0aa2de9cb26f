"""HTTP endpoints of posts."""

from fastapi import APIRouter

router = APIRouter(tags=["posts"])
