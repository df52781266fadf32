"""Points drawn on the Train page: the drawing component's value is untrusted input, read
by explainer/user_data.read_drawing with the CSV's rules and scaling; the Train page keeps
a good drawing as "your data" (and trains on it like a CSV), and refuses a bad one with
one line that changes nothing.

The page tests send the component's value the way the browser does: a widget state with
the component's id and the value as JSON, which runs its on_change callback first.
"""

from __future__ import annotations

import json

import apptest_helpers as ui
import numpy as np
import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from explainer import limits
from explainer.figures.primitives import data_image
from explainer.user_data import (
    EXTENT,
    SINGLE_CLASS,
    USER_DATA_NAME,
    USER_TRAIN_POINTS,
    read_csv,
    read_drawing,
)
from pages.draw_points import CLASS_NAMES, DRAW_CLASSES

DRAW_KEY = "train_draw"


def l_shape(n: int = 60, cls: int = 0, seed: int = 0) -> list[list[float]]:
    """An L as a drag would spray it: down the left side, then along the bottom."""
    rng = np.random.default_rng(seed)
    s = np.linspace(0, 1, n // 2)
    down = np.stack([-1 + 0 * s, 1 - 2 * s], 1)
    along = np.stack([-1 + 2 * s, -1 + 0 * s], 1)
    points = np.concatenate([down, along]) + rng.normal(0, 0.01, (2 * len(s), 2))
    return [[float(x), float(y), cls] for x, y in points]


def blob(n: int, centre: tuple[float, float], cls: int, seed: int = 1) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    return [[float(x), float(y), cls] for x, y in rng.normal(centre, 0.1, (n, 2))]


def payload(points: list) -> dict:
    return {"points": points, "sent": 1}


# ---------------------------------------------------------------- good drawings


def test_a_drawing_is_scaled_like_the_same_points_in_a_csv_file() -> None:
    drawn = l_shape(60) + blob(30, (0.8, 0.8), 1)
    own = read_drawing(payload(drawn), CLASS_NAMES)
    rows = "\n".join(f"{x!r},{y!r},{'ab'[c]}" for x, y, c in drawn)
    same = read_csv(("x,y,class\n" + rows).encode())
    assert np.array_equal(own.dataset.points, same.dataset.points)
    assert np.array_equal(own.dataset.labels, same.dataset.labels)
    assert own.scale == same.scale and own.rows == 90
    got = own.dataset.points
    assert np.allclose(got.min(0) + got.max(0), 0, atol=1e-5)  # centred, as the built-in sets
    assert np.isclose(np.abs(got).max(), EXTENT, atol=1e-5)
    # The classes are named by the colours the app's figures give them.
    assert own.dataset.name == USER_DATA_NAME
    assert own.dataset.class_names == CLASS_NAMES[:2] == ("orange", "sky blue")


def test_one_class_is_plain_points_and_empty_classes_are_skipped() -> None:
    assert read_drawing(payload(l_shape(40, cls=3)), CLASS_NAMES).dataset.class_names == (
        SINGLE_CLASS,)
    # Classes 0 and 2 (a crafted value: the plane only offers a class after the one
    # before has points): the second class drawn gets the second class's name and colour.
    own = read_drawing(payload(l_shape(40, 0) + blob(30, (1, 1), 2)), CLASS_NAMES)
    assert own.dataset.class_names == CLASS_NAMES[:2]
    assert np.bincount(own.dataset.labels).tolist() == [40, 30]


def test_a_large_drawing_is_thinned_like_a_large_file() -> None:
    drawn = blob(3000, (0, 0), 0) + blob(1000, (1, 1), 1, seed=2)
    own = read_drawing(payload(drawn), CLASS_NAMES)
    assert own.rows == 4000 and len(own.dataset.points) == USER_TRAIN_POINTS
    assert np.bincount(own.dataset.labels).tolist() == [1500, 500]


# ---------------------------------------------------------------- bad drawings


def bad_payloads() -> dict[str, tuple[object, str]]:
    good = l_shape(30)

    def with_point(k: int, point: object) -> dict:
        points = [list(p) for p in good]
        points[k] = point
        return payload(points)

    return {
        "not an object": ([[0, 0, 0]] * 30, "list of points"),
        "text": ("0,0,0", "list of points"),
        "nothing": (None, "list of points"),
        "no points": ({"sent": 1}, "list of points"),
        "points not a list": ({"points": {"0": [0, 0, 0]}}, "list of points"),
        "too few points": (payload(good[:limits.MIN_USER_POINTS - 1]), "at least 20"),
        "no points at all": (payload([]), "has 0 points"),
        "too many points": (payload([[0.0, 0.0, 0]] * (limits.MAX_USER_ROWS + 1)),
                            "at most 100,000"),
        "a pair": (with_point(4, [0.1, 0.2]), "point 5 is not an (x, y, class)"),
        "four values": (with_point(4, [0.1, 0.2, 0, 1]), "point 5 is not"),
        "a string point": (with_point(2, "0.1,0.2,0"), "point 3 is not"),
        "an object point": (with_point(2, {"x": 0.1, "y": 0.2, "class": 0}), "point 3 is not"),
        "x as text": (with_point(6, ["0.5", 0.2, 0]), "point 7: x is not a number"),
        "y missing": (with_point(6, [0.5, None, 0]), "point 7: y is not a number"),
        "x a bool": (with_point(6, [True, 0.2, 0]), "x is not a number"),
        "nan": (with_point(8, [float("nan"), 0.2, 0]), "finite"),
        "infinite": (with_point(8, [0.1, float("-inf"), 0]), "finite"),
        "huge whole x": (with_point(8, [10**400, 0.2, 0]), "x is ~10^400; every x and y"),
        "class not whole": (with_point(1, [0.1, 0.2, 1.5]), "class 1.5 is not one of"),
        "class a bool": (with_point(1, [0.1, 0.2, True]), "class True is not one of"),
        "class as text": (with_point(1, [0.1, 0.2, "0"]), "is not one of"),
        "negative class": (with_point(1, [0.1, 0.2, -1]), "class -1 is not one of"),
        "class past the plane's": (with_point(1, [0.1, 0.2, DRAW_CLASSES]), "is not one of"),
        "huge class": (with_point(1, [0.1, 0.2, 10**400]), "~10^400 is not one of"),
        "all at one place": (payload([[0.5, 0.5, 0]] * 30), "same place"),
        "span too large": (payload([[1e308, 0.0, 0], [-1e308, 0.0, 0], *good[2:]]),
                           "too large a range"),
    }


@pytest.mark.parametrize("case", list(bad_payloads()))
def test_bad_drawings_get_one_line(case: str) -> None:
    value, fragment = bad_payloads()[case]
    with pytest.raises(ValueError) as error:
        read_drawing(value, CLASS_NAMES)
    message = str(error.value)
    assert fragment in message and "\n" not in message and len(message) < 200, message


def test_more_classes_than_the_app_allows_are_refused() -> None:
    """Even with names for more, at most MAX_USER_CLASSES classes (as for a CSV file)."""
    names = tuple(f"c{k}" for k in range(limits.MAX_USER_CLASSES + 2))
    drawn = [p for k in range(limits.MAX_USER_CLASSES + 1)
             for p in blob(3, (k, 0), k, seed=k)]
    with pytest.raises(ValueError, match=f"at most {limits.MAX_USER_CLASSES} are allowed"):
        read_drawing(payload(drawn), names)
    fine = read_drawing(payload(drawn[:-3]), names)  # classes 0..9
    assert fine.dataset.num_classes == limits.MAX_USER_CLASSES


def test_the_count_is_checked_before_any_point_is_read() -> None:
    junk = ["not a point"] * (limits.MAX_USER_ROWS + 1)
    with pytest.raises(ValueError, match="at most 100,000"):
        read_drawing(payload(junk), CLASS_NAMES)


# ---------------------------------------------------------------- the Train page


def open_train_page() -> AppTest:
    return ui.open_page("pages/train.py", train_dataset=USER_DATA_NAME, train_budget="steps",
                        train_steps="100", train_hidden="64", train_depth="2")


def send_drawing(at: AppTest, value: object) -> AppTest:
    """What "Use these points" does in the browser: the component's new value reaches the
    server as its widget state, and the page reruns (AppTest has no setter for components)."""
    plane = [el for el in at.get("component_instance")
             if el.proto.component_name.endswith("draw_points")]
    assert len(plane) == 1, "no drawing plane on the page"
    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(id=plane[0].proto.id, json_value=json.dumps(value)))
    at._run(states)
    assert not at.exception, [e.value for e in at.exception]
    return at


def page_text(at: AppTest) -> str:
    return " ".join(m.value for m in (*at.markdown, *at.info))


def test_train_page_keeps_a_good_drawing_and_refuses_a_bad_one() -> None:
    at = open_train_page()
    assert at.button(key="train_go").disabled  # nothing drawn yet
    plane = next(el for el in at.get("component_instance")
                 if el.proto.component_name.endswith("draw_points"))
    args = json.loads(plane.proto.json_args)
    assert args["colours"][:2] == ["#E69F00", "#56B4E9"] and args["names"] == list(CLASS_NAMES)
    assert args["min_points"] == limits.MIN_USER_POINTS and not args["disabled"]

    send_drawing(at, payload(l_shape(12)))
    errors = " ".join(e.value for e in at.error)
    assert "has 12 points; at least 20 are needed" in errors and "Nothing was changed" in errors
    assert "train_own_data" not in at.session_state
    assert at.button(key="train_go").disabled

    drawn = payload(l_shape(60) + blob(30, (0.8, 0.8), 1))
    send_drawing(at, drawn)
    assert not at.error
    name, own = at.session_state["train_own_data"]
    assert name is None
    assert np.array_equal(own.dataset.points, read_drawing(drawn, CLASS_NAMES).dataset.points)
    assert "Your drawing: 90 points, 2 classes (orange, sky blue), scaled by" in page_text(at)
    assert not at.button(key="train_go").disabled
    assert "train_own_preview" in ui.charts(at), "no preview of the drawing"

    # A malformed value afterwards (a crafted message): one line, the drawing stays.
    send_drawing(at, {"points": [[0, 0, "x"]] * 25})
    assert "Nothing was changed" in " ".join(e.value for e in at.error)
    assert at.session_state["train_own_data"][1] is own
    assert "Your drawing: 90 points" in page_text(at)


@pytest.mark.slow
def test_a_drawing_trains_like_a_csv_and_drives_the_sampling_page() -> None:
    at = open_train_page()
    drawn = payload(l_shape(80) + blob(40, (0.8, 0.8), 1))
    send_drawing(at, drawn)
    at.button(key="train_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    _, model = at.session_state["user_model"]
    assert model.data.name == USER_DATA_NAME and model.steps_trained == 100
    assert model.class_names == ("orange", "sky blue")
    assert np.array_equal(model.data.points, read_drawing(drawn, CLASS_NAMES).dataset.points)
    at.switch_page("pages/sampling.py").run()
    assert not at.exception, [e.value for e in at.exception]
    image = next(iter(ui.charts(at).values()))["layout"]["images"][0]
    assert image["source"] == data_image(model.data.points, extent=image["sizex"] / 2)["source"]
