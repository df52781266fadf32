"""A minimal Streamlit websocket client: what a browser tab does, without the browser.

HTTP requests never run a Streamlit script; a session is a websocket on /_stcore/stream
that sends BackMsg(rerun_script=ClientState) and receives one ForwardMsg per frame
(streamlit 1.67): new_session, deltas (elements, with their widget protos and the
fragment they belong to), ..., script_finished. Checked against what Chromium sends
(tests/browser ProtocolLog): the first rerun names the page by its URL path
(page_name) with empty widget states; later reruns carry the page's script hash, the
changed widget states and, for a widget inside an @st.fragment, its fragment_id.
Widgets whose state is not sent keep their previous value on the server.
"""

from __future__ import annotations

import http.cookiejar
import random
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field

import websocket
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState

# Frames above this size are chart deltas (Plotly JSON); not parsing them keeps the
# client's CPU use low when it shares the machine with the server it measures.
BIG_FRAME = 32_000
FINISHED_OK = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


@dataclass
class Run:
    """One script (or fragment) run as the client saw it."""

    seconds: float  # from sending rerun_script to receiving the final script_finished
    status: str  # ScriptFinishedStatus name of the final script_finished
    errors: list[str]  # exception elements, error alerts
    bytes_received: int
    notes: list[str] = field(default_factory=list)  # warning alerts; "download" per button


@dataclass
class Widget:
    id: str
    fragment_id: str
    proto: object  # the widget's element proto (Slider, Button, ...)


def widget_key(widget_id: str) -> str:
    """The user key of a widget id "$$ID-<hash>-<key>" ("" if it has none)."""
    parts = widget_id.split("-", 2)
    keyed = len(parts) == 3 and widget_id.startswith("$$ID") and parts[2] != "None"
    return parts[2] if keyed else ""


@dataclass
class StreamlitSession:
    """One browser tab's session on a Streamlit server."""

    base_url: str  # http://127.0.0.1:port
    timeout: float = 60.0
    page_script_hash: str = ""
    widgets: dict[str, Widget] = field(default_factory=dict)  # by user key
    values: dict[str, float] = field(default_factory=dict)  # slider positions we set
    ws: websocket.WebSocket | None = None
    # This tab's cookies, as a browser keeps them: behind deploy/'s nginx, the affinity
    # cookie it sets on the first response sends every later request to the same replica.
    cookies: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def connect(self) -> None:
        """Open the websocket as a browser does: after a first HTTP response (the browser's
        is the page itself; here the health check), with the cookies that set."""
        self.get("/_stcore/health")
        url = self.base_url.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = websocket.create_connection(url, subprotocols=["streamlit"],
                                              timeout=self.timeout,
                                              cookie=self.cookie_header() or None)

    def get(self, path: str) -> tuple[bytes, dict[str, str]]:
        """An HTTP GET of `path` with this tab's cookies: (body, response headers)."""
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        with opener.open(self.base_url + path, timeout=self.timeout) as response:
            return response.read(), dict(response.headers)

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.cookies)

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.ws.close()
            except (OSError, websocket.WebSocketException):
                pass
            self.ws = None

    # ------------------------------------------------------------------ runs

    def open_page(self, page: str, query: str = "") -> Run:
        """The first run of a page, as a browser sends it on page load."""
        if self.ws is None:
            self.connect()
        state = ClientState(query_string=query, page_name=page)
        state.widget_states.SetInParent()
        return self._rerun(state)

    def move_slider(self, key: str, rng: random.Random, max_jump: int = 5) -> Run:
        """Move the slider with this key 1..max_jump positions, like a student dragging
        it, and rerun its fragment (or the page when it is not in a fragment)."""
        index, count = self.slider_position(key)
        return self.set_slider(key, _jump(index, 0, count - 1, rng, max_jump))

    def slider_position(self, key: str) -> tuple[int, int]:
        """(current position, number of positions) of a slider."""
        slider: Slider = self.widgets[key].proto  # type: ignore[assignment]
        if slider.type == Slider.SELECT_SLIDER:
            return int(self.values.get(key, self._initial(slider))), len(slider.options)
        current = self.values.get(key, self._initial(slider))
        return (round((current - slider.min) / slider.step),
                round((slider.max - slider.min) / slider.step) + 1)

    def set_slider(self, key: str, index: int) -> Run:
        """Put a slider at a position (0 = its minimum) and rerun as the browser does."""
        widget = self.widgets[key]
        slider: Slider = widget.proto  # type: ignore[assignment]
        state = WidgetState(id=widget.id)
        if slider.type == Slider.SELECT_SLIDER:
            self.values[key] = index
            state.string_array_value.data.append(slider.options[index])
        else:
            value = slider.min + index * slider.step
            self.values[key] = value
            state.double_array_value.data.append(value)
        return self._rerun(self._client_state([state], widget.fragment_id))

    def click(self, key: str, also: Sequence[WidgetState] = ()) -> Run:
        """Click a button (a full rerun with its trigger set), with the other widget
        states `also` sent in the same rerun (e.g. `choice`)."""
        widget = self.widgets[key]
        return self._rerun(self._client_state(
            [*also, WidgetState(id=widget.id, trigger_value=True)], widget.fragment_id))

    def choice(self, key: str, option: str) -> WidgetState:
        """The state of a radio set to the option shown as `option`."""
        return WidgetState(id=self.widgets[key].id, string_value=option)

    @staticmethod
    def _initial(slider: Slider) -> float:
        return slider.value[0] if len(slider.value) else slider.default[0]

    def _client_state(self, states: list[WidgetState], fragment_id: str) -> ClientState:
        state = ClientState(page_script_hash=self.page_script_hash, fragment_id=fragment_id)
        state.widget_states.widgets.extend(states)
        return state

    def _rerun(self, state: ClientState) -> Run:
        assert self.ws is not None
        self.ws.send_binary(BackMsg(rerun_script=state).SerializeToString())
        start = time.perf_counter()
        errors: list[str] = []
        notes: list[str] = []
        received = 0
        while True:
            frame = self.ws.recv()
            received += len(frame)
            if len(frame) > BIG_FRAME:
                continue  # a chart's delta: no status or error inside, skip the parsing
            msg = ForwardMsg()
            msg.ParseFromString(frame)
            kind = msg.WhichOneof("type")
            if kind == "navigation":
                # The page that ran (new_session's hash is app.py's under st.navigation).
                self.page_script_hash = msg.navigation.page_script_hash
            elif kind == "delta":
                self._read_delta(msg, errors, notes)
            elif kind == "script_finished":
                status = msg.script_finished
                # FINISHED_EARLY_FOR_RERUN: the script called st.rerun(); the server
                # starts the next run by itself, keep reading.
                if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue
                name = ForwardMsg.ScriptFinishedStatus.Name(status)
                if status not in FINISHED_OK:
                    errors.append(name)
                return Run(time.perf_counter() - start, name, errors, received, notes)

    def _read_delta(self, msg: ForwardMsg, errors: list[str], notes: list[str]) -> None:
        delta = msg.delta
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            errors.append(f"{element.exception.type}: {element.exception.message[:200]}")
        elif kind == "alert" and element.alert.format == element.alert.ERROR:
            errors.append(f"error alert: {element.alert.body[:200]}")
        elif kind == "alert" and element.alert.format == element.alert.WARNING:
            notes.append(element.alert.body[:200])
        elif kind == "download_button":
            notes.append("download")
        if kind in ("slider", "button", "radio"):
            proto = getattr(element, kind)
            key = widget_key(proto.id)
            if key:
                self.widgets[key] = Widget(proto.id, delta.fragment_id, proto)


def _jump(index: int, lo: int, hi: int, rng: random.Random, max_jump: int) -> int:
    """A new position 1..max_jump away, inside [lo, hi]."""
    for _ in range(20):
        new = index + rng.choice([-1, 1]) * rng.randint(1, max_jump)
        if lo <= new <= hi:
            return new
    return lo if index != lo else hi
