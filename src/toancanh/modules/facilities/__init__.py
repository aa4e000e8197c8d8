"""Facilities (cơ sở): registries of schools (students, teachers, kitchens and gates linked to cameras),
health facilities (beds, staff) and tourist sites (visitors), whose figures flow into the indicators
module."""

from toancanh.core.modules import Module
from toancanh.modules.facilities import api

module = Module(
    name="facilities",
    title_vi="Cơ sở giáo dục, y tế, du lịch",
    title_en="Schools, health facilities, tourist sites",
    routers=[api.router],
)
