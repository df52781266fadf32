"""Diffusion models, explained on 2D data: set up and navigate (streamlit run app.py)."""

import streamlit as st

PAGES = [
    ("pages/random_walks.py", "1. Random walks", ":material/directions_walk:",
     "Noise a spiral step by step; why the last step points back to where a walk began."),
    ("pages/vector_field.py", "2. The vector field", ":material/explore:",
     "The time-varying field a denoiser learns, next to the exact one."),
    ("pages/sampling.py", "3. Sampling", ":material/animation:",
     "From noise to data: DDPM, DDPM without the noise (collapse), DDIM."),
    ("pages/pictures.py", "4. Pictures", ":material/image:",
     "A pixel is an axis: the same samplers on pictures, with their exact denoiser."),
    ("pages/guidance.py", "5. Guidance", ":material/my_location:",
     "Conditional vs unconditional fields and the classifier-free guidance slider."),
    ("pages/prompts.py", "6. Text prompts", ":material/chat:",
     "A miniature CLIP: prompts in words, negative prompts, guided by text."),
    ("pages/train.py", "7. Train your own", ":material/model_training:",
     "Train a tiny model live and use it on every page."),
]


def main() -> None:
    st.set_page_config(page_title="Diffusion models, explained in 2D", page_icon="🌀",
                       layout="wide")
    from explainer import shutdown
    from pages import home as home_page
    from pages import lesson_bar, sampling_views, shared  # sets threads, freezes gc

    # Stopping the server while a student's run or the warming computes must not abort it.
    shutdown.guard_exit(("ScriptRunner.", sampling_views.WARM_THREAD_PREFIX),
                        hard_exit=not st.get_option("global.appTest"))

    def home() -> None:
        home_page.render(PAGES, by_url_path)

    shared.seed_presentation()  # the presentation view has the pages' links on top
    pages = ([st.Page(home, title="Home", icon=":material/home:", default=True)]
             + [st.Page(path, title=title, icon=icon) for path, title, icon, _ in PAGES])
    by_url_path = {page.url_path: page for page in pages}  # lesson steps name pages so
    navigation = st.navigation(pages, position="top" if shared.presenting() else "sidebar")
    lesson_note = lesson_bar.bar(navigation.url_path, by_url_path)  # while a link names one
    shared.open_page(navigation.url_path)  # the page's own URL parameters, no other page's
    shared.model_sidebar(navigation.url_path)  # on Home: only the link's model, no sidebar
    shared.view_bar(navigation.url_path)  # presentation switch, copy link (figure picker)
    navigation.run()
    lesson_note()  # after the page: its values are in the link
    # After the page: the server's first visitor starts making the sampling page's views of
    # the default model, so that a class reaching page 3 finds them ready (once a process).
    sampling_views.warm_in_background(
        shared.pretrained_active(shared.DEFAULT_DATASET, shared.DEFAULT_PROCESS))


# Streamlit runs this file as __main__. An export's worker process (explainer/export.py,
# multiprocessing) runs it again as __mp_main__ to set up its own __main__: it must not
# start the app there.
if __name__ == "__main__":
    main()
