"""The framework's images: built locally from Dockerfiles shipped in this package, tagged by content."""

from __future__ import annotations

from chaos.images.build import IMAGES, BuildReport, ensure_images, image_reference, resolve_image

__all__ = ["IMAGES", "BuildReport", "ensure_images", "image_reference", "resolve_image"]
