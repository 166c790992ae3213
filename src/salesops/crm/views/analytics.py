"""Pages: analytics."""

from __future__ import annotations

urlpatterns: list = []
