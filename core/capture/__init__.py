"""Browser capture: the Pixel as a real Chromium fires it on a store, with its pages, cookies and findings.

Public names: `CaptureOptions`, `run_capture` (-> `CaptureResult`), `parse_journey`. The modules:
`journey` (journey files, checked before a browser starts), `offline` (the router that answers every
non-127.0.0.1 request locally), `recorder` (Playwright's events -> pages and Pixel rows, through the HAR
importer's parser), `findings` (PII, ttclid loss, event_id and legacy-name findings; redaction),
`session` (one run, start to result).
"""

from core.capture.journey import Step, parse_journey
from core.capture.session import CaptureOptions, CaptureResult, check_options, run_capture

__all__ = ["CaptureOptions", "CaptureResult", "Step", "check_options", "parse_journey", "run_capture"]
