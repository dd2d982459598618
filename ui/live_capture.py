"""The Live page's browser capture: try the demo shop offline, or capture the user's own store.

A capture of the user's store runs on a background thread (a person may click through a headed window for
minutes); its Pixel hits go into the session's store as the browser fires them, so the live panel shows
them arriving. Its status is a small fragment of its own. The result (pages, cookies, findings) is left in
`st.session_state["live_capture"]` for the checklist. The demo session runs in the script (about ten
seconds) so its outcome is on screen when the button's run ends.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Final

import streamlit as st

from core.browser import browser_available, display_available
from core.capture import CaptureOptions, check_options, parse_journey
from core.errors import ConsoleError
from core.live_capture import capture_into_session, run_demo_session
from core.store import Store
from ui.errors import show_error
from ui.markup import plain

CAPTURE_REFRESH_S: Final = 2.0


def _background(db_path: Path, session_id: str, options: CaptureOptions, job: dict[str, Any]) -> None:
    """The capture thread: records into the session, leaves the result (or the error) in `job`."""
    try:
        with Store(db_path) as store:
            result = capture_into_session(store, session_id, options, stop=job["stop"],
                                          on_event=lambda _row: job.__setitem__("hits", job["hits"] + 1))
        job["result"] = result.to_json()
    except ConsoleError as exc:
        job["error"] = exc
    except Exception as exc:  # the thread must always end with a verdict the page can show
        job["error"] = ConsoleError(f"The capture stopped: {type(exc).__name__}: {exc}")
    finally:
        job["done"] = True


def _options(url: str, journey_file: Any, headed: bool, offline: bool, idle: float) -> CaptureOptions:
    journey = None
    if journey_file is not None:
        try:
            raw = json.loads(journey_file.getvalue().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConsoleError(f"{journey_file.name} is not a JSON journey ({exc}).",
                               hint='Upload a JSON list of steps, e.g. [{"goto": "/"}, {"click": "#buy"}].') from None
        journey = parse_journey(raw)
    options = CaptureOptions(url=url.strip(), journey=journey, headed=headed, offline=offline, idle_seconds=idle)
    check_options(options)  # a bad URL or journey is named now, not from the background thread
    return options


def _start(db_path: Path, session_id: str, options: CaptureOptions) -> None:
    job: dict[str, Any] = {"stop": threading.Event(), "hits": 0, "done": False, "session": session_id}
    job["thread"] = threading.Thread(target=_background, args=(db_path, session_id, options, job),
                                     name="live-capture", daemon=True)
    st.session_state["live_capture_job"] = job
    job["thread"].start()


@st.fragment(run_every=CAPTURE_REFRESH_S)
def _job_status() -> None:
    """The running capture's progress; when it ends, its result for the checklist (or its error)."""
    ss = st.session_state
    job = ss.get("live_capture_job")
    if not job:
        return
    if not job["done"]:
        st.info(f"Capturing… {job['hits']} Pixel hit(s) so far. Close the browser window, or stop here.", icon="🎥")
        if st.button("Stop the capture", key="live_capture_stop"):
            job["stop"].set()
        return
    ss.pop("live_capture_job", None)
    if "error" in job:
        show_error(job["error"], source="Capture")
        return
    ss["live_capture"] = job["result"]
    st.success(f"Capture finished: {len(job['result']['events'])} Pixel event(s) recorded in the session.")


def _demo(db_path: Path, session_id: str) -> None:
    try:
        with st.status("The demo shop: opening it in Chromium, buying a tee, its backend posting through the "
                       "relay…", expanded=False) as status, Store(db_path) as store:
            demo = run_demo_session(store, session_id)
            status.update(label="Demo session recorded", state="complete")
    except ConsoleError as exc:
        show_error(exc, source="Demo shop")
        return
    st.session_state["live_capture"] = demo.capture.to_json()
    st.success(f"The demo shop fired {len(demo.capture.events)} Pixel event(s) and its backend sent "
               f"{len(demo.server_sends)} server event(s) through the relay: see the Purchase merge below. "
               "The server-keys item stays red here on purpose: the shop runs on this machine (ip 127.0.0.1) "
               "in a headless browser, which TikTok cannot match.")


def capture_panel(db_path: Path, session_id: str) -> None:
    """Try the demo shop, or capture a store (URL, optional journey, headed where a display exists)."""
    if not browser_available():
        st.warning("No Chromium or Chrome on this machine, so the console cannot capture the Pixel itself: "
                   "install one (`sudo apt-get install -y chromium` or `python -m playwright install chromium`) "
                   "or import a DevTools HAR on the Compare page.", icon="🌐")
        return
    left, right = st.columns(2)
    if left.button("Try it on the demo shop", key="live_demo", icon="🛍️", type="primary",
                   help="A local shop (not TikTok's code) in headless Chromium, offline: Pixel hits and the "
                        "backend's Purchase land in this session and pair."):
        _demo(db_path, session_id)
    with right.popover("Capture your store", icon="🎥"):
        url = st.text_input("Store URL (add ?ttclid=test to check it survives)", key="live_capture_url")
        journey = st.file_uploader("Journey (JSON steps), optional", type=["json"], key="live_capture_journey")
        headed = st.toggle("Open a window to click through", key="live_capture_headed",
                           disabled=not display_available(),
                           help="Needs a display; without one the capture runs headless (journey or idle time).")
        offline = st.toggle("Offline: answer every non-127.0.0.1 request locally", key="live_capture_offline")
        idle = st.number_input("End after seconds without a request", 2.0, 600.0, 10.0, key="live_capture_idle")
        busy = bool(st.session_state.get("live_capture_job"))
        if st.button("Start the capture", key="live_capture_start", disabled=busy or not url.strip()):
            try:
                _start(db_path, session_id, _options(url, journey, headed, offline, float(idle)))
            except ConsoleError as exc:
                show_error(exc, source="Capture")
    _job_status()
    last = st.session_state.get("live_capture")
    if last and last.get("session_id") == session_id:
        st.caption(f"Last capture: {plain(str(last.get('url', '')))}: {len(last.get('events', []))} Pixel event(s), "
                   f"{len(last.get('pages', []))} page(s), {len(last.get('findings', []))} finding(s).")
