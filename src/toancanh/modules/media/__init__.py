"""Press and social monitoring (giám sát báo chí, mạng xã hội): news sites by RSS/Atom and by page, social
posts, manual entry; Vietnamese normalization and segmentation, places on the map, watch rules, trained
classifiers, sentiment, spikes raised as events for the alerts module, and the leaders' daily digest."""

from pathlib import Path

from toancanh.core.modules import Module, NavItem
from toancanh.modules.media import api, web

module = Module(
    name="media",
    title_vi="Báo chí, mạng xã hội",
    title_en="Press and social media",
    routers=[api.router],
    web_routers=[web.router],
    permissions={
        "operator": {"media.read", "media.write"},
        "leader": {"media.read"},
        "agency_staff": {"media.read"},
        "viewer": {"media.read"},
    },
    nav=[NavItem("/media", "Báo chí, MXH", "Press & social", icon="✎", permission="media.read")],
    templates_dir=str(Path(__file__).parent / "templates"),
)
