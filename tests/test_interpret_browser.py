"""The interpret report works in a real browser: headless Chromium loads index.html over HTTP
from localhost, and every audio player must decode and play its wav and every figure must load.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them in CI, where this
test fails instead of skipping when they are missing).
"""

import json
import math
import os

import pytest
from headless_browser import INSTALL_HINT, HeadlessChromium, StaticServer, find_chromium
from interpret_inputs import write_bad, write_good

from lmac_brain.interpret.cli import EXIT_SOME_FAILED, run

pytestmark = pytest.mark.slow  # a trained classifier and a headless browser

# Runs in the page: for every <audio>, wait for its metadata (or error), start it muted and
# wait until its clock moves, then fetch the file and decode all of it with Web Audio; for
# every <img>, wait until it loaded (or failed). Returns what it saw.
CHECK_PAGE = r"""
const timeoutMs = arguments[0];
const done = arguments[arguments.length - 1];
const settle = (promise, ms) =>
  Promise.race([promise, new Promise(r => setTimeout(() => r({timedOut: true}), ms))]);
const waitFor = (el, ok, events) => ok() ? Promise.resolve({}) : new Promise(r =>
  events.forEach(name => el.addEventListener(name, () => r({}), {once: true})));
const mediaError = el => el.error ? {code: el.error.code, message: el.error.message} : null;
async function checkAudio(el) {
  const out = {src: el.getAttribute('src'), kind: el.dataset.kind || null};
  const meta = await settle(waitFor(el, () => el.readyState >= 1 || el.error,
                                    ['loadedmetadata', 'error']), timeoutMs);
  out.metadataTimedOut = !!meta.timedOut;
  out.readyState = el.readyState;
  out.duration = Number.isFinite(el.duration) ? el.duration : String(el.duration);
  out.error = mediaError(el);
  out.played = false;
  if (!el.error) {
    try {
      el.muted = true;
      await settle(el.play(), timeoutMs);
      const moved = new Promise(r => {
        const tick = () => (el.currentTime > 0 || el.ended) ? r({}) : setTimeout(tick, 20);
        tick();
      });
      out.played = !(await settle(moved, timeoutMs)).timedOut && el.currentTime > 0;
      el.pause();
    } catch (e) { out.playError = String(e); }
    out.errorAfterPlay = mediaError(el);
  }
  try {
    const response = await fetch(el.currentSrc || el.src);
    out.httpStatus = response.status;
    const buffer = await new OfflineAudioContext(1, 1, 44100).decodeAudioData(await response.arrayBuffer());
    out.decodedSeconds = buffer.duration;
  } catch (e) { out.decodeError = String(e); }
  return out;
}
async function checkImage(img) {
  await settle(waitFor(img, () => img.complete, ['load', 'error']), timeoutMs);
  return {src: img.getAttribute('src'), complete: img.complete,
          naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight};
}
(async () => {
  const audios = [];
  for (const el of document.querySelectorAll('audio')) audios.push(await checkAudio(el));
  const images = await Promise.all(Array.from(document.images).map(checkImage));
  done({audios, images, problems: document.querySelectorAll('#problems tr').length});
})().catch(e => done({scriptError: String(e)}));
"""

CONTROL_PAGE = """<!DOCTYPE html><html><body>
<audio controls preload="metadata" src="not_audio.wav"></audio><img src="missing.png" alt="">
</body></html>"""


@pytest.fixture(scope="module")
def chromium():
    found = find_chromium()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the browser test: " + INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    return found


def _playable(audio):
    return (audio["error"] is None and audio["errorAfterPlay"] is None and audio["readyState"] >= 1
            and isinstance(audio["duration"], (int, float)) and math.isfinite(audio["duration"])
            and audio["played"] and audio.get("decodeError") is None)


def test_report_page_plays_in_headless_chromium(chromium, tiny_classifier, tmp_path):
    inputs = tmp_path / "inputs"
    write_good(inputs, names=["short_8k_mono.wav", "long_44k_6ch.flac"])
    write_bad(inputs)
    site = tmp_path / "site"
    status = run(["--input", str(inputs), "--method", "gradcam", "--classifier", str(tiny_classifier),
                  "--output", str(site / "run"), "--no_progress"], dataset="esc50")
    assert status == EXIT_SOME_FAILED
    report = json.loads((site / "run" / "report.json").read_text())
    explained = {i["files"][k]: i["seconds"] for i in report["items"] if i["status"] == "ok"
                 for k in ("original", "interpretation", "residual")}
    assert len(explained) == 6
    (site / "control.html").write_text(CONTROL_PAGE)
    (site / "not_audio.wav").write_text("this is not a wav file")

    with StaticServer(site) as server, HeadlessChromium(*chromium) as browser:
        browser.open(f"{server.url}/run/index.html")
        seen = browser.run_async(CHECK_PAGE, 20000)
        # The same checks on a page with a broken player and a missing picture must fail.
        browser.open(f"{server.url}/control.html")
        control = browser.run_async(CHECK_PAGE, 20000)

    assert "scriptError" not in seen, seen
    assert sorted(a["src"] for a in seen["audios"]) == sorted(explained)
    for audio in seen["audios"]:
        assert _playable(audio), audio
        assert audio["httpStatus"] == 200
        assert audio["duration"] == pytest.approx(explained[audio["src"]], abs=2e-3)
        assert audio["decodedSeconds"] == pytest.approx(explained[audio["src"]], abs=2e-3)
    assert len(seen["images"]) == 2
    assert all(img["complete"] and img["naturalWidth"] > 0 and img["naturalHeight"] > 0 for img in seen["images"])
    assert seen["problems"] == 4  # empty, silent, corrupt, not audio

    assert "scriptError" not in control, control
    assert not _playable(control["audios"][0]) and control["audios"][0]["error"] is not None
    assert control["images"][0]["naturalWidth"] == 0
