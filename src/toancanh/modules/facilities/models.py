"""Facilities have no tables of their own: each is a core asset (`toancanh.core.assets.Asset`) of type school,
health_facility or tourism_site, its registry figures in `attributes["figures"]` and a tourist site's monthly
visitors in `attributes["visitors"]` (see service.py)."""

from toancanh.core.assets import Asset

__all__ = ["Asset"]
