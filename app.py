"""Diffusion models, explained on 2D data: set up and navigate (streamlit run app.py)."""

import streamlit as st

st.set_page_config(page_title="Diffusion models, explained in 2D", page_icon="🌀",
                   layout="wide")

from pages import sampling_views, shared  # noqa: E402  (after set_page_config; sets threads, freezes gc)

PAGES = [
    ("pages/random_walks.py", "1. Random walks", "🚶",
     "Noise a spiral step by step; why the last step points back to where a walk began."),
    ("pages/vector_field.py", "2. The vector field", "🧭",
     "The time-varying field a denoiser learns, next to the exact one."),
    ("pages/sampling.py", "3. Sampling", "🎞️",
     "From noise to data: DDPM, DDPM without the noise (collapse), DDIM."),
    ("pages/guidance.py", "4. Guidance", "🎯",
     "Conditional vs unconditional fields and the classifier-free guidance slider."),
    ("pages/prompts.py", "5. Text prompts", "💬",
     "A miniature CLIP: prompts in words, negative prompts, guided by text."),
    ("pages/train.py", "5. Train your own", "🏋️",
     "Train a tiny model live and use it on every page."),
]


def home() -> None:
    st.title("Diffusion models, explained in 2D")
    st.markdown(
        "A diffusion model learns to **undo noise**. Take data (here: points in the plane, "
        "such as a spiral), and add a little Gaussian noise, again and again, until "
        "nothing of the spiral is left: each point has done a random walk. A small neural "
        "network is trained to guess, from a noisy point and the step t, which noise was "
        "added. That guess is a **vector field that changes with t**: at every point of "
        "the plane it points toward where the data probably came from. To generate new "
        "data, start from pure noise and follow the field back step by step, adding a "
        "little fresh noise as you go. Images work the same way; they just live in a space "
        "with a million dimensions instead of two, so here you can *see* every step.")
    st.subheader("The two algorithms (Ho et al., 2020)")
    left, right = st.columns(2)
    with left:
        st.markdown("**Algorithm 1: training**")
        st.latex(r"""\begin{array}{l}
\textbf{repeat} \\
\quad x_0 \sim q(x_0),\quad t \sim \mathrm{Uniform}\{1,\dots,T\} \\
\quad \epsilon \sim \mathcal N(0, I) \\
\quad x_t = \alpha_t x_0 + \sigma_t \epsilon \\
\quad \text{gradient step on } \lVert \epsilon - \hat\epsilon_\theta(x_t, t)\rVert^2 \\
\textbf{until converged}
\end{array}""")
    with right:
        st.markdown("**Algorithm 2: sampling**")
        st.latex(r"""\begin{array}{l}
x_T \sim \mathcal N(0, \sigma_T^2 I) \\
\textbf{for } t = T, \dots, 1: \\
\quad \hat x_0 = (x_t - \sigma_t \hat\epsilon_\theta(x_t, t)) / \alpha_t \\
\quad z \sim \mathcal N(0, I) \text{ if } t > 1 \text{ else } z = 0 \\
\quad x_{t-1} = \mu_t(x_t, \hat x_0) + \tilde\sigma_t z \\
\textbf{return } x_0
\end{array}""")
    with st.expander("The notation: one formula for both noise processes"):
        st.markdown(
            "Every noise process here is a Gaussian path "
            "$x_t = \\alpha_t x_0 + \\sigma_t \\epsilon$ with $\\alpha_0 = 1, \\sigma_0 = 0$.\n\n"
            "- **DDPM** (variance preserving): $\\alpha_t = \\sqrt{\\bar\\alpha_t}$, "
            "$\\sigma_t = \\sqrt{1-\\bar\\alpha_t}$, "
            "$\\bar\\alpha_t = \\prod_{s\\le t}(1-\\beta_s)$, linear $\\beta$.\n"
            "- **Random walk** (variance exploding): $x_t = x_{t-1} + s z$, so $\\alpha_t = 1$ "
            "and $\\sigma_t = s\\sqrt t$.\n\n"
            "$\\mu_t$ and $\\tilde\\sigma_t$ are the mean and std of $q(x_{t-1} \\mid x_t, x_0)$ "
            "with $\\hat x_0$ in place of $x_0$; for DDPM this is exactly Ho et al.'s "
            "Algorithm 2, for the random walk $\\mu_t = \\frac{t-1}{t} x_t + \\frac1t \\hat x_0$.")
    st.subheader("The way through")
    for path, title, icon, blurb in PAGES:
        # The description as its own line: a page link's label is cut off on a phone.
        st.page_link(path, label=f"**{title}**", icon=icon)
        st.caption(blurb)
    st.caption("Based on the seed article 'Diffusion Models: An Intuitive Understanding' "
               "and the Welch Labs video on the 3Blue1Brown channel. Pretrained models ship "
               "with the app, so every page works at once.")


navigation = st.navigation(
    [st.Page(home, title="Home", icon="🏠", default=True)]
    + [st.Page(path, title=title, icon=icon) for path, title, icon, _ in PAGES])
if navigation.title != "Home":
    shared.model_sidebar()
navigation.run()
# After the page: the server's first visitor starts making the sampling page's views of the
# default model, so that a class reaching page 3 finds them ready (once per process).
sampling_views.warm_in_background(
    shared.pretrained_active(shared.DEFAULT_DATASET, shared.DEFAULT_PROCESS))
