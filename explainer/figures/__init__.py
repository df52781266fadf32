"""Plotly figure builders: arrays in, go.Figure out; no model calls, no streamlit.

primitives (colours, arrows, points, raster images, time axes), animation (frames, Play
and the t slider), layout (figures of panels and the layout contract with the chart
component), then one module of builders per page: home, random_walks, vector_field,
sampling, guidance, prompts, train. The pictures page's figures are explainer/image_figures.py.
"""
