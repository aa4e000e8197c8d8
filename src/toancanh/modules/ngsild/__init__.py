"""NGSI-LD context broker (ETSI GS CIM 009): the IOC's entities, assets and last readings at /ngsi-ld/v1."""

from toancanh.core.modules import Module
from toancanh.modules.ngsild import api, web
from toancanh.modules.ngsild.service import READ, WRITE

module = Module(
    name="ngsild",
    title_vi="Giao diện NGSI-LD",
    title_en="NGSI-LD API",
    routers=[api.router, api.contexts_router],
    web_routers=[web.router],
    permissions={
        "operator": {READ, WRITE},
        "leader": {READ},
        "agency_staff": {READ},
        "viewer": {READ},
    },
)
