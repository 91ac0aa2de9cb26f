"""HTTP endpoints of feed."""

from fastapi import APIRouter

router = APIRouter(tags=["feed"])
