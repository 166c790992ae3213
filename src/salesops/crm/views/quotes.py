"""Pages: quotes."""

from __future__ import annotations

urlpatterns: list = []
