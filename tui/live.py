"""The live switch (not built yet: it waits on sim/live's server and load generator)."""

from __future__ import annotations

from typing import Any


def toggle(app: Any, screen: Any) -> None:
    screen.notify("The live party needs sim/live's server and load generator, "
                  "which this build does not have yet.", title="Live", severity="warning")
