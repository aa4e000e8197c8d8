"""GIS (hệ thống thông tin địa lý): the layer catalogue, imports and exports (GeoJSON, Shapefile, GeoPackage,
CSV; VN-2000 to WGS 84), OGC API - Features at `/ogc`, spatial queries and the `/gis` map."""

from pathlib import Path

from toancanh.core.modules import Module, NavItem
from toancanh.modules.gis import api, ogc, web

module = Module(
    name="gis",
    title_vi="Bản đồ GIS",
    title_en="GIS",
    routers=[api.router, ogc.router],
    web_routers=[web.router],
    permissions={
        "operator": {"gis.read", "gis.write"},
        "leader": {"gis.read"},
        "agency_staff": {"gis.read"},
        "viewer": {"gis.read"},
    },
    nav=[NavItem("/gis", "Bản đồ GIS", "GIS map", icon="◈", permission="gis.read")],
    templates_dir=str(Path(__file__).parent / "templates"),
)
