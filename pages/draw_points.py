"""A square plane to draw points on, for the Train page's "your data".

assets/draw_points/index.html is a Streamlit component (plain JS, no build step): clicks
and drags add points, each class in the colour the app's figures give it, and only
"Use these points" sends them back, once, as {"points": [[x, y, class], ...]}. Drawing
itself never reruns the script: a class drawing at once costs the server one run each.
What comes back is untrusted: explainer/user_data.read_drawing checks it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit.components.v1 as components

from explainer import limits
from explainer.fields import VIEW_EXTENT
from explainer.figures.primitives import PALETTE, class_colour, class_colour_name

DRAW_PAGE = Path(__file__).resolve().parents[1] / "assets" / "draw_points"
# One colour per class: as many classes as the palette has colours, within the app's bound.
DRAW_CLASSES = min(limits.MAX_USER_CLASSES, len(PALETTE))
CLASS_NAMES = tuple(class_colour_name(k) for k in range(DRAW_CLASSES))

_plane = components.declare_component("draw_points", path=str(DRAW_PAGE))


def draw_plane(key: str, disabled: bool, on_change: Callable[[], None]) -> None:
    """The drawing plane, spanning the pages' view; `on_change` runs (before the script)
    when "Use these points" sends a drawing, which is then st.session_state[key]."""
    _plane(colours=[class_colour(k) for k in range(DRAW_CLASSES)], names=list(CLASS_NAMES),
           extent=VIEW_EXTENT, min_points=limits.MIN_USER_POINTS,
           max_points=limits.MAX_USER_ROWS, disabled=disabled, key=key, default=None,
           on_change=on_change)
