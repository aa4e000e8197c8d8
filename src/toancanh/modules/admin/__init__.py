"""Administration (quản trị): users and grants, administrative units, agencies, assets, the audit log."""

from pathlib import Path

from toancanh.core.modules import Module, NavItem
from toancanh.modules.admin import api, web

module = Module(
    name="admin",
    title_vi="Quản trị",
    title_en="Administration",
    routers=[api.router],
    web_routers=[web.router],
    permissions={"admin": {"users.manage", "agencies.write"}},
    nav=[
        NavItem("/admin/assets", "Tài sản, thiết bị", "Assets", permission="assets.read"),
        NavItem("/admin/units", "Đơn vị", "Units", permission="units.read"),
        NavItem("/admin/users", "Người dùng", "Users", permission="users.read"),
        NavItem("/admin/audit", "Nhật ký", "Audit log", permission="audit.read"),
    ],
    templates_dir=str(Path(__file__).parent / "templates"),
)
