"""Backend of the diffusion explainer: pure torch/numpy, no Streamlit."""
