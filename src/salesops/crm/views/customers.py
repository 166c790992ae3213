"""Pages: customers."""

from __future__ import annotations

urlpatterns: list = []
