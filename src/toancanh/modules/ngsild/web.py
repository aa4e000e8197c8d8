"""No pages: the NGSI-LD API is for machines (see docs/ngsild.md); the router keeps the module's shape."""

from fastapi import APIRouter

router = APIRouter()
