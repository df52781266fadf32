"""Layout helpers for figures of several panels, and THE LAYOUT CONTRACT between the
figure builders and the chart component (pages/plotly_frame.py, which sends a figure,
and assets/plotly_frame/index.html, which draws it). Both of those point here.

What Python sends (pages/plotly_frame.show): `figure`, the figure's JSON without
Plotly's default template, deflated into bytes once per cached figure (SentFigure), and
`alt`, the chart's accessible name (screen readers; the browser tests check that it
follows the slider), and `file_name` ("" for none): the chart then has a "PNG for
slides" button under it (26 px, added to the iframe's height) saving `file_name` plus
the animation frame shown, drawn 960 px wide at scale 2 (1920 px).

What the chart page does with it:

- Applies the app's theme: transparent backgrounds, the theme's text colour and font,
  faint grid lines, bold titles, `automargin` on every axis (what Plotly's template
  did); the figure's own settings win.
- Drops `layout.width` (the iframe's width rules) and sets the iframe's height from
  `layout.height` (450 if absent).
- `layout.meta.stack = {below, height}` on a figure with a `layout.grid`: in a chart
  narrower than `below` px (a phone) the grid's panels are stacked in one column and the
  chart is `height` tall; it redraws when the window crosses that width. Panel titles
  are annotations in each panel's axis-domain coordinates, so they move with their
  panel. panels_layout writes this for every figure of panels (below =
  SIDE_BY_SIDE_MIN_WIDTH).
- `uirevision` keeps the user's zoom when only the data changes.
- A chart inside a closed expander draws when it is opened, not on every move.
- Draws only the newest figure it received; `window.chartState = {received, drawn,
  drawMs}` lets the browser tests and the latency benchmark wait for it. A figure that
  fails to draw shows a one-line message in the chart.

Changing any of these on one side means changing the other. Why the component exists:
docs/ARCHITECTURE.md, "The chart component".
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from explainer.figures.primitives import set_layout


def controls_below(fig: go.Figure) -> go.Figure:
    """animation_controls for a narrow column or a phone: the play buttons side by side
    under the plot, the step slider below them at full width, its "t = ..." read-out on
    the right where the buttons cannot cover it (needs a bottom margin of 130 px)."""
    fig.layout.updatemenus[0].update(direction="left", pad=dict(t=36, r=10))
    fig.layout.sliders[0].update(x=0, len=1, pad=dict(t=78),
                                 currentvalue=dict(prefix="t = ", xanchor="right"))
    return fig


def narrow_friendly(fig: go.Figure) -> go.Figure:
    """animation_figure with controls_below, and the room they take."""
    return set_layout(controls_below(fig), margin=dict(b=130), height=fig.layout.height + 40)


SIDE_BY_SIDE_MIN_WIDTH = 560  # px; a narrower chart stacks its panels (panels_layout)


CONTROLS_HEIGHT = 170  # px: the panel titles, the play buttons and the t slider


def panel_axes(n: int) -> list[dict[str, str]]:
    """The axes of n panels: x/y, x2/y2, ..."""
    return [dict(xaxis=f"x{i + 1}" if i else "x", yaxis=f"y{i + 1}" if i else "y")
            for i in range(n)]


def panels_layout(titles: Sequence[str], images: Sequence[dict | None], extent: float,
                   columns: int, height: int, stacked_height: int, margin: dict) -> dict:
    """Layout of a figure of panels (sampling_figure, field_panels_figure): a grid of
    `columns`, equal square axes over [-extent, extent]^2, each panel's data image (if
    any) under it, each title over its own panel (annotations placed in the panel's axis
    domain, so they move with it when the chart page stacks the panels). layout.meta.stack
    tells the chart page (assets/plotly_frame) to stack the panels in one column, and how
    tall that is, when the chart is narrower than SIDE_BY_SIDE_MIN_WIDTH."""
    axes = panel_axes(len(titles))
    layout: dict = dict(
        height=height, showlegend=False, margin=margin, uirevision="plane",
        grid=dict(rows=-(-len(titles) // columns), columns=columns, pattern="independent",
                  xgap=0.08, ygap=0.12),
        images=[{**image, "xref": ax["xaxis"], "yref": ax["yaxis"]}
                for image, ax in zip(images, axes, strict=True) if image is not None],
        annotations=[dict(text=f"<b>{title}</b>", showarrow=False, x=0.5, y=1.0,
                          xref=f"{ax['xaxis']} domain", yref=f"{ax['yaxis']} domain",
                          xanchor="center", yanchor="bottom", font=dict(size=14))
                     for title, ax in zip(titles, axes, strict=True)],
        meta=dict(stack=dict(below=SIDE_BY_SIDE_MIN_WIDTH, height=stacked_height)))
    for ax in axes:
        # automargin off: fixed margins never change between figures (see sampling_figure)
        square = dict(range=[-extent, extent], zeroline=False, constrain="domain",
                      automargin=False)
        layout[ax["xaxis"].replace("x", "xaxis")] = square
        layout[ax["yaxis"].replace("y", "yaxis")] = dict(square, scaleanchor=ax["xaxis"],
                                                        scaleratio=1)
    return layout
