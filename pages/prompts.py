"""Text prompts: a miniature CLIP turns words into a vector, and the denoiser is guided by
that vector instead of a class. Controls -> cached backend calls -> figures."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explainer import chart_data, prompt_checkpoints
from explainer.captions import MAX_PROMPT_CHARS, Prompt, PromptError
from explainer.fields import VIEW_EXTENT, field_agreement, grid, share_pointing_at
from explainer.figures import prompts as prompt_figures
from explainer.figures.guidance import FieldPanel, field_panels_figure
from explainer.prompts import (
    SAMPLER_STEPS,
    PromptFields,
    PromptModel,
    PromptRequest,
    PromptShares,
    prompt_fields,
    prompt_shares,
    retrieval_precision,
)
from pages import shared

GRID = 21  # field arrows per side, as on the guidance page
SPACING = 2 * VIEW_EXTENT / (GRID - 1)
MAP_SIZE = 64  # similarity map cells per side
N_SAMPLES, SEED = 500, 0
PROCESS_NAMES_SHOWN = {"ddpm": "DDPM", "random_walk": "random walk"}


# ---------------------------------------------------------------- cached backend calls

@st.cache_resource(max_entries=10, show_spinner="Loading the text-prompt model...")
def prompt_model(dataset: str, process: str) -> PromptModel:
    return prompt_checkpoints.load(prompt_checkpoints.pretrained_prompt_path(dataset, process))


@st.cache_data(max_entries=64, show_spinner=False)
def similarity_view(dataset: str, process: str, prompt: Prompt) -> tuple[np.ndarray, float]:
    """The prompt's similarity to every cell of the map, and the retrieval precision of
    the prompt over the training points."""
    model = prompt_model(dataset, process)
    values = model.similarity(prompt, grid(MAP_SIZE))
    return values, retrieval_precision(model, prompt, model.data.points)


@st.cache_data(max_entries=256, show_spinner=False)
def fields_view(dataset: str, process: str, request: PromptRequest, t: int) -> PromptFields:
    return prompt_fields(prompt_model(dataset, process), request, t, GRID)


@st.cache_data(max_entries=128, show_spinner=False)
def samples_view(dataset: str, process: str, request: PromptRequest,
                 n: int) -> tuple[np.ndarray, PromptShares]:
    model = prompt_model(dataset, process)
    samples = model.sample(request, n, SEED).final
    return samples, prompt_shares(model.world, samples, request)


# ---------------------------------------------------------------- text

def introduction(model: PromptModel) -> None:
    st.markdown(
        "Image models are asked in words, not class numbers. Here the same happens in "
        "miniature. Every training point gets **captions made by code** from what it is "
        "and where it is: its class ('outer'), and the half-planes through the data's "
        "centre it lies in ('top', 'left'), combined ('outer top left'). A tiny "
        "**CLIP** learns from them: a text encoder turns a bag of words into a vector, "
        "a point encoder turns a point into a vector, and a contrastive loss pulls each "
        "caption's vector toward the vectors of the points it describes, away from the "
        "others. The denoiser then gets the **text vector** where the guidance page's "
        "model got a class: one network, trained with the prompt dropped "
        f"{model.train_config.label_dropout:.0%} of the time (a learned 'no prompt' "
        "vector instead), is the prompted, the unconditional and the guided model.")
    with st.expander("The maths"):
        st.markdown(
            "Text encoder: $e(\\text{words}) = \\mathrm{normalise}(\\mathrm{MLP}"
            "(\\sum_{\\text{word}} v_{\\text{word}}))$; point encoder: "
            "$f(x) = \\mathrm{normalise}(\\mathrm{MLP}(x, \\sin 2\\pi Bx, \\cos 2\\pi Bx))$. "
            "For a batch of points $x_i$ and captions $c_j$, the logits are "
            "$s\\, f(x_i) \\cdot e(c_j)$ with a learned temperature $1/s$; the loss is the "
            "cross-entropy over each row (which caption?) plus over each column (which "
            "point?), halved: the symmetric InfoNCE loss of CLIP. A caption made by code "
            "describes many points of a batch, so every point a caption describes is a "
            "positive of that caption.\n\n"
            "The denoiser predicts $\\hat\\epsilon(x_t, t, e)$ with $e$ the text vector or "
            "the learned null vector $\\varnothing$. Guidance with a prompt $p$ and a "
            "negative prompt $n$: "
            "$\\hat\\epsilon = \\hat\\epsilon(x_t, t, e_n) + w\\,(\\hat\\epsilon(x_t, t, e_p) "
            "- \\hat\\epsilon(x_t, t, e_n))$; without a negative prompt $e_n = \\varnothing$ "
            "(the guidance page's formula, w = 0 unconditional, w = 1 conditional).")


def real_systems() -> None:
    st.subheader("How real systems differ")
    st.markdown(
        "Real CLIP (Radford et al. 2021) was trained on some 400 million image-caption "
        "pairs written by people, with a transformer reading the words in order: "
        "'a dog chasing a cat' and 'a cat chasing a dog' differ, which a bag of words "
        "cannot tell. Stable Diffusion does not squeeze the prompt into one vector as "
        "here: it feeds CLIP's per-token text states into the denoiser through "
        "**cross-attention**, so each part of the image can attend to the words about "
        "it; Imagen uses the T5 language model, trained on text alone, as its text "
        "encoder. The guidance is the same as here. It is called **classifier-free** "
        "because it needs no separate classifier: the earlier classifier guidance "
        "(Dhariwal & Nichol 2021) pushed samples along the gradient of a classifier "
        "trained on noisy images; here the push is the difference between the one "
        "network's answers with and without the prompt.")


# ---------------------------------------------------------------- controls

def parses(model: PromptModel, text: object) -> bool:
    try:
        model.vocabulary.parse(str(text))
    except PromptError:
        return False
    return True


def forget_prompts_of_another_dataset(model: PromptModel) -> None:
    """A prompt typed for the previous dataset may use words this one does not know: start
    again from the defaults (a bad prompt typed here stays, with its message)."""
    dataset = model.data.name
    if st.session_state.get("_prompts_dataset", dataset) != dataset:
        for key in ("prompt", "negative_prompt"):
            shared.forget_if_invalid(key, lambda v: parses(model, v))
    st.session_state["_prompts_dataset"] = dataset


def text_box(label: str, key: str, default: str, **kwargs: object) -> str:
    """A text input whose value lives in the URL as ?key=... (while it is short enough)."""
    shared.seed_from_url(key, default, str)
    value = st.text_input(label, key=key, **kwargs)
    if len(value) <= MAX_PROMPT_CHARS:
        shared.write_url(key, value, default)
    return value


def show_prompt_error(error: PromptError, which: str, model: PromptModel) -> None:
    """What is wrong, without showing the user's text as markup: their words go in a
    plain-text element."""
    if error.length is not None:
        st.error(f"The {which} is {error.length:,} characters long; at most "
                 f"{MAX_PROMPT_CHARS} are allowed.", icon="✋")
        return
    st.error(f"The {which} has words the text model does not know. The "
             f"{model.data.name} vocabulary is: {model.vocabulary.listing()}.", icon="✋")
    st.text(f"Unknown: {', '.join(error.unknown)}")


def controls(model: PromptModel) -> PromptRequest | None:
    forget_prompts_of_another_dataset(model)
    default = model.world.held_out[0].text
    left, right = st.columns(2)
    with left:
        prompt = text_box("Prompt", "prompt", default, placeholder="empty: unconditional",
                          help=f"Words of the vocabulary: {model.vocabulary.listing()}.")
    with right:
        negative = text_box("Negative prompt (push away from)", "negative_prompt", "",
                            placeholder="none",
                            help="Replaces the 'no prompt' vector in the guidance formula.")
    w = shared.url_slider("Guidance scale w (0 = unconditional, 1 = conditional, > 1 = "
                          "guided)", "w", 0.0, 10.0, 3.0, step=0.5)
    vocabulary, ok = model.vocabulary, True
    for text, which in ((prompt, "prompt"), (negative, "negative prompt")):
        try:
            vocabulary.parse(text)
        except PromptError as error:
            show_prompt_error(error, which, model)
            ok = False
    return model.request(prompt, negative, w) if ok else None


def vocabulary_note(model: PromptModel) -> None:
    world = model.world
    with st.expander("The vocabulary and the captions"):
        st.markdown(
            f"**Words** ({model.data.name}): {model.vocabulary.listing()}. The class words "
            f"name the classes {', '.join(model.data.class_names)}; class names that are "
            "also position words, or sound like them (the moons' upper / lower, the "
            "checkerboard's left / right halves), get other words. 'top', 'bottom', "
            "'left' and 'right' are the half-planes through the centre of the data "
            f"({world.centre[0]:.2f}, {world.centre[1]:.2f}), the dotted lines.\n\n"
            f"Each training point has up to 7 captions: the non-empty combinations of its "
            f"class word, its 'top'/'bottom' and its 'left'/'right'. "
            f"**Never shown whole in training**: "
            f"{', '.join(repr(p.text) for p in world.held_out)}; their words were, in "
            "other combinations.")


# ---------------------------------------------------------------- sections

def quoted(prompt: Prompt) -> str:
    return f"'{prompt.text}'"


def similarity_section(model: PromptModel, request: PromptRequest) -> None:
    st.subheader("What the text model learned")
    prompt = request.prompt
    if prompt.empty:
        st.caption("Type a prompt to see the plane coloured by its similarity to each point.")
        return
    dataset, process = model.data.name, model.schedule.name
    values, precision = similarity_view(dataset, process, prompt)
    fig = shared.cached_figure(("prompt similarity", dataset, process, prompt), lambda: (
        prompt_figures.similarity_figure(values, MAP_SIZE, f"Similarity to {quoted(prompt)}",
                                         model.data.points, model.world.centre)))
    shared.chart(fig, key="chart_similarity", name=(dataset, process, prompt.text),
                 data={"data": model.data.points}, drawn=True, alt=(
        f"Map of the plane coloured by the cosine between the text vector of "
        f"{quoted(prompt)} and each point's vector, from {values.min():.2f} to "
        f"{values.max():.2f}, with the training data on top."))
    share = model.world.data_share(prompt)
    if np.isnan(precision):
        shared.sentence(f"no training point satisfies every word of {quoted(prompt)} (words "
                        "combine as an intersection), so its region is empty; the map is "
                        f"most similar ({values.max():.2f}) where the model guesses.")
        return
    shared.sentence(
        f"red is where points look like {quoted(prompt)} to the text model (cosine up to "
        f"{values.max():.2f}); that means something on the data only, as the point encoder "
        f"never saw a point away from it. The region holds {share:.0%} of the training "
        f"points; of "
        f"the {round(share * len(model.data.points))} points most similar to the prompt, "
        f"{precision:.0%} lie in it.")


@st.fragment
def fields_section(model: PromptModel, request: PromptRequest) -> None:
    if not shared.presenting():
        st.subheader("The fields at time t")
    t = shared.url_t_slider("Time t (large: noisy, small: nearly clean)", model.schedule.T,
                            allow_zero=False, default_fraction=0.1,
                            spacing=model.schedule.time_spacing)
    dataset, process = model.data.name, model.schedule.name
    f = fields_view(dataset, process, request, t)
    world, data = model.world, model.data.points
    region_points = data[world.in_region(data, request.prompt)]
    prompt_name = quoted(request.prompt) if not request.prompt.empty else "no prompt"
    panels = [FieldPanel("unconditional", "Unconditional (no prompt)", f.unconditional.xy,
                         f.unconditional.v, data),
              FieldPanel("conditional", f"Prompt {prompt_name} (w = 1)", f.conditional.xy,
                         f.conditional.v, region_points if len(region_points) else None)]
    if f.negative is not None:
        panels.append(FieldPanel("negative", f"Negative prompt {quoted(request.negative)}",
                                 f.negative.xy, f.negative.v,
                                 data[world.in_region(data, request.negative)]))
    panels.append(FieldPanel("guided", f"Guided: w = {request.w:g}", f.guided.xy, f.guided.v,
                             region_points if len(region_points) else None))
    fig = shared.cached_figure(("prompt fields", dataset, process, request, t), lambda: (
        field_panels_figure(panels, f"The fields at t = {t}", SPACING)))
    shared.chart(fig, key="chart_prompt_fields",
                 name=(dataset, process, request.prompt.text, f"t{t}", f"w{request.w:g}"),
                 data=chart_data.field_data(f.unconditional.xy, data, **{
                     panel.name: panel.v for panel in panels}), alt=(
        f"{len(panels)} arrow fields at t = {t}: unconditional, the prompt {prompt_name} "
        + ("" if f.negative is None else f", the negative prompt {quoted(request.negative)}")
        + f" and guided with w = {request.w:g}."))
    if shared.presenting():
        return
    st.caption("Arrows: the denoising direction at each grid point, colour = its length "
               "(dark short, yellow long). Grey dots: the training data in the prompt's "
               "region (all of it for the unconditional field).")
    agreement = field_agreement(f.conditional.v, f.unconditional.v).mean_cosine
    text = (f"at t = {t} the prompted and the unconditional field agree with mean cosine "
            f"{agreement:.2f} (1 = every arrow points the same way)")
    if len(region_points):
        towards = share_pointing_at(f.guided.v, f.guided.xy, region_points)
        text += (f"; {towards:.0%} of the guided field's arrows point within 30° of the "
                 f"nearest training point in the region of {prompt_name}")
    shared.sentence(text + ".")


def samples_sentence(request: PromptRequest, shares: PromptShares,
                     at: dict[float, PromptShares], held_out: bool) -> str:
    n, w = N_SAMPLES, request.w
    if request.unconditional:
        return (f"no prompt: the unconditional model. {shares.on_data:.0%} of {n} samples "
                "are on the data (as close to a training point as 99% of fresh data).")
    if request.prompt.empty:
        text = (f"with no prompt and the negative prompt {quoted(request.negative)} at "
                f"w = {w:g}, {shares.out_of_negative:.0%} of {n} samples are out of its region")
        return text + (f", and {shares.on_data:.0%} are on the data (pushing away from a "
                       "region with nothing to pull toward drives samples off the data as "
                       "w grows)." if shares.on_data < 0.9 else
                       f", and {shares.on_data:.0%} are on the data.")
    text = (f"at w = {w:g}, {shares.in_region_on_data:.0%} of {n} samples landed in the "
            f"region of {quoted(request.prompt)} and on the data (in the region: "
            f"{shares.in_region:.0%}, on the data: {shares.on_data:.0%}; unconditional: "
            f"{at[0.0].in_region_on_data:.0%}; the prompt alone at w = 1: "
            f"{at[1.0].in_region_on_data:.0%})")
    if shares.out_of_negative is not None:
        text += (f"; {shares.out_of_negative:.0%} are out of the region of the negative "
                 f"prompt {quoted(request.negative)}")
    if held_out:
        text += f". {quoted(request.prompt)} was never a whole caption in training"
    return text + "."


def samples_section(model: PromptModel, request: PromptRequest) -> None:
    steps = min(SAMPLER_STEPS, model.schedule.T)
    if not shared.presenting():
        st.subheader(f"Samples at w = {request.w:g}")
        st.markdown(f"{N_SAMPLES} points start from the same noise and follow the guided field "
                    f"with DDPM ({steps} steps, fresh noise injected at each): the noise corrects "
                    "the network's small errors, which guidance multiplies by w (deterministic "
                    "DDIM lets some of them overshoot off the data). Green: samples that landed "
                    "in the prompt's region and on the data; orange: the others.")
    dataset, process = model.data.name, model.schedule.name
    with st.spinner("Sampling..."):
        samples, shares = samples_view(dataset, process, request, N_SAMPLES)
        at = {w: samples_view(dataset, process, PromptRequest(request.prompt, w=w),
                              N_SAMPLES)[1] for w in (0.0, 1.0)}
    world, data = model.world, model.data.points
    in_region = world.in_region(data, request.prompt)
    in_negative = None if request.negative.empty else world.in_region(data, request.negative)
    hits = world.in_region(samples, request.prompt) & world.on_data(samples)
    title = ("Unconditional samples" if request.unconditional else
             f"Samples: {quoted(request.prompt) if not request.prompt.empty else 'no prompt'}"
             + ("" if request.negative.empty else f", not {quoted(request.negative)}")
             + f", w = {request.w:g}")
    fig = shared.cached_figure(("prompt samples", dataset, process, request), lambda: (
        prompt_figures.prompt_samples_figure(samples, hits, data, in_region, in_negative,
                                             title, world.centre)))
    shared.chart(fig, key="chart_prompt_samples",
                 name=(dataset, process, request.prompt.text, f"w{request.w:g}"),
                 data={"samples": samples, "in_region_and_on_data": hits, "data": data},
                 alt=(
        f"{N_SAMPLES} samples over the training data; {hits.mean():.0%} landed in the "
        "prompt's region and on the data."))
    shared.sentence(samples_sentence(request, shares, at,
                                     request.prompt in model.world.held_out))


def predict_held_out(model: PromptModel, request: PromptRequest) -> None:
    """Asked about a held-out caption other than the prompt on screen, whose share the
    samples section already says."""
    held = next(p for p in model.world.held_out if p != request.prompt)
    _, shares = samples_view(model.data.name, model.schedule.name,
                             PromptRequest(held, w=3.0), N_SAMPLES)
    shared.predict_then_look(
        f"{quoted(held)} was never a whole caption in training: the text model saw its "
        "words only in other combinations. Asked for it at w = 3, what share of samples "
        "will land in its region and on the data?",
        f"{shares.in_region_on_data:.0%} of {N_SAMPLES} samples (in the region: "
        f"{shares.in_region:.0%}). The bag of words adds the words' vectors, and the "
        "networks after it learned to read such sums from the combinations they did see.",
        key="prompts_held_out")


# ---------------------------------------------------------------- the page

active = shared.active_model()
st.title("6. Text prompts: CLIP in miniature")
dataset, process = active.model.data.name, active.model.schedule.name
model = prompt_model(dataset, process)
presenting = shared.presenting()
if not presenting:
    introduction(model)
    st.caption(f"Text-prompt model: the shipped one for {dataset} / "
               f"{PROCESS_NAMES_SHOWN[process]} (T = {model.schedule.T})"
               + ("; your own model has no text encoder." if active.source != "pretrained"
                  else "."))
    vocabulary_note(model)
chosen = controls(model)
if chosen is not None:
    if not chosen.prompt.empty and model.world.data_share(chosen.prompt) == 0:
        st.warning(f"No training point satisfies every word of {quoted(chosen.prompt)} "
                   "(words combine as an intersection): its region is empty.", icon="⚠️")
    if not presenting:
        similarity_section(model, chosen)
    if shared.shows("fields"):
        fields_section(model, chosen)
    if not presenting:
        st.divider()
        predict_held_out(model, chosen)
    if shared.shows("samples"):
        samples_section(model, chosen)
if not presenting:
    real_systems()
