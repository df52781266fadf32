"""Live `streamlit run app.py` servers and websocket sessions for the tests outside
tests/browser (test_shutdown, the Train page's click test): tests/browser/appserver.py's
AppServer and tests/benchmarks/st_client.py's StreamlitSession, plus what those tests
do that a benchmark does not (a click sent without waiting, the messages read back).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE / "browser", HERE / "benchmarks"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import websocket  # noqa: E402
from appserver import AppServer  # noqa: E402, F401  (re-exported)
from st_client import StreamlitSession  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ClientState_pb2 import ClientState  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402


def send_click(session: StreamlitSession, key: str) -> None:
    """Click a button and return at once, as an impatient student's browser does."""
    widget = session.widgets[key]
    state = session._client_state([WidgetState(id=widget.id, trigger_value=True)],
                                  widget.fragment_id)
    session.ws.send_binary(BackMsg(rerun_script=state).SerializeToString())


def send_open(session: StreamlitSession, page: str, query: str = "") -> None:
    """Open a page and return at once (the first run goes on in the server)."""
    if session.ws is None:
        session.connect()
    state = ClientState(query_string=query, page_name=page)
    state.widget_states.SetInParent()
    session.ws.send_binary(BackMsg(rerun_script=state).SerializeToString())


@dataclass
class Seen:
    """What a session received: exceptions, alerts (with their kind) and run endings."""

    exceptions: list[str] = field(default_factory=list)
    alerts: list[tuple[str, str]] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)


def read_until(session: StreamlitSession, done: str, timeout: float) -> Seen:
    """Read the session's messages until an alert containing `done` has arrived and its
    run has finished, or `timeout` seconds have passed."""
    seen, found = Seen(), False
    deadline = time.monotonic() + timeout
    session.ws.settimeout(1.0)
    while time.monotonic() < deadline:
        try:
            frame = session.ws.recv()
        except websocket.WebSocketTimeoutException:
            continue
        msg = ForwardMsg()
        msg.ParseFromString(frame)
        kind = msg.WhichOneof("type")
        if kind == "script_finished":
            seen.finished.append(ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished))
            if found and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                break
        if kind != "delta" or msg.delta.WhichOneof("type") != "new_element":
            continue
        element = msg.delta.new_element
        if element.WhichOneof("type") == "exception":
            seen.exceptions.append(f"{element.exception.type}: {element.exception.message}")
        elif element.WhichOneof("type") == "alert":
            kind_name = element.alert.Format.Name(element.alert.format)
            seen.alerts.append((kind_name, element.alert.body))
            found = found or done in element.alert.body
    return seen
