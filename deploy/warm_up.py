"""Make a fresh app server run app.py once, then report its health:

    python deploy/warm_up.py [http://127.0.0.1:8501]

Exit status 0 when one session (a websocket, as a browser opens it) ran the home page to
the end, 1 otherwise, with one line saying why. deploy/local.sh runs it on each replica
before the proxy takes traffic; the Docker image's HEALTHCHECK and the Kubernetes
startupProbe run it, so no replica is sent visitors before it passes.

Why: until app.py has run once in a process, Streamlit 1.67 treats the pages/ folder as
an old-style multipage app. pages/shared.py turns that off on its first import, but first
visits that arrive while it does can fail (ImportError, seen with 30 deep links within
2.4 s on a fresh server), and behind a proxy every new replica gets its first visits from
a whole class at once. Uses only what Streamlit itself depends on (websockets, protobuf).
"""

from __future__ import annotations

import sys
import urllib.request

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect

TIMEOUT_S = 60.0
FINISHED_OK = {ForwardMsg.FINISHED_SUCCESSFULLY}


def run_home_page(base_url: str) -> str:
    """Open one session and run the home page; "" if it finished cleanly, else why not."""
    state = ClientState(query_string="", page_name="")
    state.widget_states.SetInParent()
    url = base_url.replace("http://", "ws://", 1) + "/_stcore/stream"
    with connect(url, subprotocols=["streamlit"], open_timeout=TIMEOUT_S,
                 max_size=None) as ws:
        ws.send(BackMsg(rerun_script=state).SerializeToString())
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(ws.recv(timeout=TIMEOUT_S))
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.new_element.WhichOneof("type") == "exception":
                return "the home page raised an exception"
            if kind == "script_finished" and (
                    msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN):
                ok = msg.script_finished in FINISHED_OK
                return "" if ok else ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)


def main(base_url: str) -> int:
    try:
        with urllib.request.urlopen(base_url + "/_stcore/health", timeout=5) as response:
            if response.status != 200:
                print(f"warm_up: health answered {response.status}", file=sys.stderr)
                return 1
        problem = run_home_page(base_url)
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", in one line
        problem = f"{type(exc).__name__}: {exc}"[:200]
    if problem:
        print(f"warm_up: {base_url}: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8501"))
