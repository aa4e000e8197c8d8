"""Facilities (cơ sở): registries of schools (students, teachers, kitchens and gates linked to cameras),
health facilities (beds, staff) and tourist sites (visitors), whose figures flow into the indicators
module."""

from pathlib import Path

from toancanh.core.modules import Module, NavItem
from toancanh.modules.facilities import api, web

module = Module(
    name="facilities",
    title_vi="Cơ sở giáo dục, y tế, du lịch",
    title_en="Schools, health facilities, tourist sites",
    routers=[api.router],
    web_routers=[web.router],
    nav=[
        NavItem("/facilities", "Trường học, y tế, du lịch", "Facilities", icon="⌂", permission="assets.read")
    ],
    templates_dir=str(Path(__file__).parent / "templates"),
)
