"""Platform statistics for admins with `manage_finances` (`/admin/stats`)."""

from __future__ import annotations

from typing import Any

route_handlers: list[Any] = []
