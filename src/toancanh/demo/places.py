"""The named places of the demo commune: hamlets, agencies, schools, roads, sensors (synthetic placements).

Positions here are in the local frame that `geography.py` uses, so the tables read as a sketch map;
`geography.build_demo()` turns them into WGS84 geometry.
"""

from __future__ import annotations

from toancanh.core.assets import DOMAINS as CORE_DOMAINS

#: The sector domains the demo's agencies work in (a subset of core's list: information security is the
#: province's, not the commune's).
DOMAINS: tuple[str, ...] = tuple(
    d for d in CORE_DOMAINS if d not in ("tourism", "land", "economy", "infosec")
)

HAMLETS: tuple[tuple[str, str, str, str, tuple[float, float]], ...] = (
    ("kien-hung", "Tổ dân phố Kiến Hưng", "tổ dân phố", "Kiến Hưng", (-0.62, 0.55)),
    ("huu-thanh-oai", "Thôn Hữu Thanh Oai", "thôn", "Hữu Hòa", (-0.28, 0.62)),
    ("yen-nguu", "Thôn Yên Ngưu", "thôn", "Tam Hiệp", (0.08, 0.66)),
    ("tam-hiep", "Tổ dân phố Tam Hiệp", "tổ dân phố", "Tam Hiệp", (0.42, 0.58)),
    ("huu-le", "Thôn Hữu Lê", "thôn", "Hữu Hòa", (-0.80, 0.10)),
    ("ta-thanh-oai", "Thôn Tả Thanh Oai", "thôn", "Tả Thanh Oai", (-0.40, 0.14)),
    ("vinh-ninh", "Thôn Vĩnh Ninh", "thôn", "Vĩnh Quỳnh", (0.00, 0.16)),
    ("huynh-cung", "Thôn Huỳnh Cung", "thôn", "Tam Hiệp", (0.40, 0.18)),
    ("van-dien", "Tổ dân phố Văn Điển", "tổ dân phố", "Văn Điển", (0.80, 0.24)),
    ("tu-khoat", "Thôn Tự Khoát", "thôn", "Tả Thanh Oai", (-0.66, -0.36)),
    ("sieu-quan", "Thôn Siêu Quần", "thôn", "Tả Thanh Oai", (-0.30, -0.60)),
    ("quynh-do", "Thôn Quỳnh Đô", "thôn", "Vĩnh Quỳnh", (0.06, -0.62)),
    ("vinh-trung", "Thôn Vĩnh Trung", "thôn", "Vĩnh Quỳnh", (0.36, -0.40)),
    ("vinh-thinh", "Thôn Vĩnh Thịnh", "thôn", "Vĩnh Quỳnh", (0.72, -0.34)),
)
URBAN_DENSITY = 1.6  # people per area, tổ dân phố relative to thôn

ALL_DOMAINS = DOMAINS
HQ = (0.02, 0.22)  # the commune's headquarters (trụ sở Đảng ủy - HĐND - UBND xã)

# (code, name, name_en, kind, domains, place): place is "hq" (the headquarters cluster) or an anchor
AGENCIES: tuple[tuple[str, str, str, str, tuple[str, ...], str | tuple[float, float]], ...] = (
    ("dang-uy", "Đảng ủy xã Đại Thanh", "Party Committee of Đại Thanh Commune", "party", ALL_DOMAINS, "hq"),
    (
        "ubnd",
        "Ủy ban nhân dân xã Đại Thanh",
        "People's Committee of Đại Thanh Commune",
        "government",
        ALL_DOMAINS,
        "hq",
    ),
    (
        "ioc",
        "Trung tâm Điều hành thông minh (IOC) xã Đại Thanh",
        "Đại Thanh Intelligent Operations Center",
        "ioc",
        ALL_DOMAINS,
        "hq",
    ),
    (
        "van-phong",
        "Văn phòng HĐND và UBND xã",
        "Office of the People's Council and People's Committee",
        "office",
        ("administration",),
        "hq",
    ),
    (
        "phong-kinh-te",
        "Phòng Kinh tế",
        "Economic Division",
        "department",
        ("environment", "urban", "traffic", "utilities"),
        "hq",
    ),
    (
        "phong-vhxh",
        "Phòng Văn hóa - Xã hội",
        "Culture and Social Affairs Division",
        "department",
        ("education", "health", "culture"),
        "hq",
    ),
    (
        "ttphvhcc",
        "Trung tâm Phục vụ hành chính công xã",
        "Public Administrative Service Center",
        "service_center",
        ("administration",),
        (0.12, 0.10),
    ),
    (
        "cong-an",
        "Công an xã Đại Thanh",
        "Đại Thanh Commune Police",
        "police",
        ("security", "traffic"),
        (0.30, 0.30),
    ),
    (
        "ban-chqs",
        "Ban Chỉ huy Quân sự xã",
        "Commune Military Command",
        "military",
        ("security",),
        (-0.18, 0.30),
    ),
    (
        "pccc",
        "Đội Cảnh sát PCCC và CNCH khu vực Thanh Trì",
        "Thanh Trì Fire and Rescue Team",
        "fire",
        ("security",),
        (0.62, 0.42),
    ),
    (
        "tram-y-te",
        "Trạm Y tế xã Đại Thanh",
        "Đại Thanh Commune Health Station",
        "health",
        ("health",),
        (-0.10, -0.12),
    ),
    (
        "doi-qlttdt",
        "Đội Quản lý trật tự đô thị xã",
        "Urban Order Management Team",
        "enforcement",
        ("urban", "environment", "traffic"),
        (0.50, -0.05),
    ),
    (
        "htx-moi-truong",
        "Hợp tác xã Dịch vụ Vệ sinh Môi trường Đại Thanh",
        "Đại Thanh Environmental Sanitation Cooperative",
        "cooperative",
        ("environment",),
        (-0.45, -0.25),
    ),
    (
        "dien-luc",
        "Điện lực Thanh Trì - Tổ quản lý điện Đại Thanh",
        "Thanh Trì Power Company, Đại Thanh team",
        "utility",
        ("utilities",),
        (0.70, 0.05),
    ),
    (
        "cap-nuoc",
        "Xí nghiệp Nước sạch Đại Thanh",
        "Đại Thanh Clean Water Enterprise",
        "utility",
        ("utilities",),
        (-0.55, 0.32),
    ),
)

# level code -> (Vietnamese label, students range, probability of a boarding kitchen)
SCHOOL_LEVELS: dict[str, tuple[str, tuple[int, int], float]] = {
    "preschool": ("Mầm non", (240, 480), 1.0),
    "primary": ("Tiểu học", (950, 1900), 0.85),
    "lower_secondary": ("THCS", (700, 1400), 0.45),
    "upper_secondary": ("THPT", (1250, 1900), 0.0),
}
# (name, level, hamlet key): at least one school in every hamlet
SCHOOLS: tuple[tuple[str, str, str], ...] = (
    ("Trường Mầm non Vĩnh Quỳnh", "preschool", "vinh-ninh"),
    ("Trường Mầm non Quỳnh Đô", "preschool", "quynh-do"),
    ("Trường Mầm non Tả Thanh Oai", "preschool", "ta-thanh-oai"),
    ("Trường Mầm non Hữu Hòa", "preschool", "huu-le"),
    ("Trường Mầm non Tam Hiệp", "preschool", "tam-hiep"),
    ("Trường Mầm non Yên Ngưu", "preschool", "yen-nguu"),
    ("Trường Mầm non Kiến Hưng", "preschool", "kien-hung"),
    ("Trường Tiểu học Vĩnh Quỳnh", "primary", "vinh-trung"),
    ("Trường Tiểu học Tả Thanh Oai", "primary", "tu-khoat"),
    ("Trường Tiểu học Hữu Hòa", "primary", "huu-thanh-oai"),
    ("Trường Tiểu học Tam Hiệp", "primary", "huynh-cung"),
    ("Trường Tiểu học Văn Điển", "primary", "van-dien"),
    ("Trường Tiểu học Vĩnh Thịnh", "primary", "vinh-thinh"),
    ("Trường THCS Vĩnh Quỳnh", "lower_secondary", "vinh-ninh"),
    ("Trường THCS Tả Thanh Oai", "lower_secondary", "sieu-quan"),
    ("Trường THCS Hữu Hòa", "lower_secondary", "huu-le"),
    ("Trường THCS Tam Hiệp", "lower_secondary", "tam-hiep"),
    ("Trường THCS Văn Điển", "lower_secondary", "van-dien"),
    ("Trường THPT Ngô Thì Nhậm", "upper_secondary", "ta-thanh-oai"),
    ("Trường THPT Ngọc Hồi", "upper_secondary", "vinh-thinh"),
)

# (name, anchor)
INTERSECTIONS: tuple[tuple[str, tuple[float, float]], ...] = (
    ("Ngã tư Ngọc Hồi - Phan Trọng Tuệ", (0.80, 0.30)),
    ("Ngã ba Quốc lộ 1A - Văn Điển", (0.78, 0.58)),
    ("Ngã ba Phan Trọng Tuệ - Tựu Liệt", (0.44, 0.38)),
    ("Ngã ba Đường Tựu Liệt - Yên Ngưu", (0.16, 0.72)),
    ("Ngã tư Phan Trọng Tuệ - Vĩnh Quỳnh", (0.06, 0.32)),
    ("Ngã tư Đường 70 - Phan Trọng Tuệ", (-0.54, 0.30)),
    ("Ngã ba Đường 70 - Cầu Bươu", (-0.46, 0.76)),
    ("Đầu cầu Tó - Đường 70", (-0.76, -0.14)),
    ("Ngã ba Tả Thanh Oai - Tự Khoát", (-0.46, -0.36)),
    ("Ngã ba Ngọc Hồi - Vĩnh Quỳnh", (0.74, -0.28)),
)

WASTE_HAMLETS: tuple[str, ...] = (
    "vinh-ninh",
    "quynh-do",
    "ta-thanh-oai",
    "huu-le",
    "yen-nguu",
    "tu-khoat",
    "van-dien",
    "huynh-cung",
)

# (kind, name, anchor)
SENSORS: tuple[tuple[str, str, tuple[float, float]], ...] = (
    ("air", "Trạm quan trắc không khí trụ sở UBND xã", (0.06, 0.16)),
    ("air", "Trạm quan trắc không khí Quốc lộ 1A", (0.80, 0.00)),
    ("air", "Trạm quan trắc không khí Tả Thanh Oai", (-0.50, 0.02)),
    ("air", "Trạm quan trắc không khí Hữu Hòa", (-0.60, 0.48)),
    ("air", "Trạm quan trắc không khí Quỳnh Đô", (0.00, -0.72)),
    ("air", "Trạm quan trắc không khí Tam Hiệp", (0.38, 0.66)),
    ("water", "Trạm đo mực nước sông Nhuệ - cầu Tó", (-0.96, -0.16)),
    ("water", "Trạm đo mực nước sông Nhuệ - Hữu Hòa", (-0.96, 0.36)),
    ("water", "Trạm đo mực nước sông Tô Lịch - Tả Thanh Oai", (-0.80, 0.64)),
    ("water", "Trạm đo mực nước mương tiêu Vĩnh Quỳnh", (0.12, -0.96)),
    ("noise", "Cảm biến tiếng ồn ngã tư Ngọc Hồi", (0.76, 0.34)),
    ("noise", "Cảm biến tiếng ồn Đường 70", (-0.50, 0.34)),
    ("noise", "Cảm biến tiếng ồn khu dân cư Văn Điển", (0.86, 0.18)),
    ("noise", "Cảm biến tiếng ồn chợ Vĩnh Quỳnh", (0.20, -0.20)),
    ("flood", "Cảm biến ngập đường Phan Trọng Tuệ", (0.24, 0.30)),
    ("flood", "Cảm biến ngập thôn Tự Khoát", (-0.70, -0.48)),
    ("flood", "Cảm biến ngập Ngọc Hồi - Văn Điển", (0.70, 0.50)),
)
# kind -> (code prefix, measures, unit of measure, heartbeat seconds)
SENSOR_KINDS: dict[str, tuple[str, tuple[str, ...], str, int]] = {
    "air": ("aq", ("pm25", "pm10"), "µg/m³", 300),
    "water": ("wl", ("water_level_cm",), "cm", 600),
    "noise": ("ns", ("noise_dba",), "dBA", 60),
    "flood": ("fl", ("flood_depth_cm",), "cm", 300),
}

HYDRANT_HAMLETS: tuple[str, ...] = (
    "van-dien",
    "tam-hiep",
    "kien-hung",
    "vinh-ninh",
    "ta-thanh-oai",
    "vinh-thinh",
)

AI_FEATURES: dict[str, tuple[str, ...]] = {
    "school_gate": ("student_pickup_safety", "illegal_parking", "crowd_density", "traffic_violation"),
    "intersection": ("vehicle_count", "red_light_violation", "wrong_lane", "plate_recognition"),
    "waste_point": ("illegal_dumping", "waste_overflow", "plate_recognition"),
    "kitchen": ("hygiene_ppe", "cleanliness", "unauthorized_entry"),
}
CAMERA_DOMAIN = {
    "school_gate": "education",
    "intersection": "traffic",
    "waste_point": "environment",
    "kitchen": "education",
}
KITCHEN_CAMERAS = 4
# share of a school's students who eat at its kitchen (bán trú), by level
MEAL_SHARE = {"preschool": 0.95, "primary": 0.75, "lower_secondary": 0.45, "upper_secondary": 0.3}
