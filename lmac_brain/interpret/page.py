"""The ``index.html`` of an interpret run: one self-contained page, no script, no network.

Each explained input gets a card: its figure (spectrogram, mask, masked spectrogram) beside
three audio players (original, interpretation, residual) and its top-3 classes. Inputs that
could not be explained are listed at the top with the reason. Every link is relative, so the
folder can be moved, served over HTTP or opened from disk.
"""

import html
from urllib.parse import quote

PLAYERS = (
    ("original", "Original", "what the classifier heard (mono, resampled)"),
    ("interpretation", "Interpretation", "M * |X| with the input's phase (paper Eq. 3)"),
    ("residual", "Residual", "(1 - M) * |X|: what the mask removed"),
)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; max-width: 1400px; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
.meta { color: #555; font-size: .9rem; }
.meta code { font-size: .85rem; }
.problems { border: 1px solid #d99; background: #fff5f5; padding: .5rem 1rem; margin: 1rem 0; }
.problems td { padding: .15rem .6rem .15rem 0; vertical-align: top; }
.item { border-top: 1px solid #ddd; padding: 1rem 0; }
.item h2 { font-size: 1.1rem; margin: 0 0 .3rem 0; }
.row { display: flex; flex-wrap: wrap; gap: 1.2rem; align-items: flex-start; }
.row img { max-width: 900px; width: 100%; height: auto; border: 1px solid #eee; }
.side { min-width: 320px; flex: 1; }
.player { margin-bottom: .6rem; }
.player .label { font-weight: 600; }
.player .hint { color: #666; font-size: .8rem; }
audio { width: 100%; max-width: 420px; display: block; }
.top td { padding: .1rem .5rem .1rem 0; font-size: .9rem; }
.bar { background: #4a7ebb; height: .6rem; display: inline-block; }
"""


def _url(name):
    return quote(name)


def _esc(value):
    return html.escape(str(value), quote=True)


def _format_input(info, seconds):
    if not info:
        return ""
    rate = info["sample_rate"]
    rate_text = f"{rate / 1000:g} kHz"
    channels = "mono" if info["channels"] == 1 else f"{info['channels']} channels"
    return f"{info['format']}, {rate_text}, {channels}, {info['seconds']:.2f} s"


def _top_table(item):
    rows = []
    for rank, entry in enumerate(item["top"], start=1):
        p = entry["probability"]
        rows.append(
            f"<tr><td>{rank}.</td><td>{_esc(entry['class'])}</td><td>{100 * p:.1f}%</td>"
            f'<td><span class="bar" style="width:{max(1, round(120 * p))}px"></span></td></tr>'
        )
    return '<table class="top">' + "".join(rows) + "</table>"


def _item_card(item, sample_rate):
    files = item["files"]
    players = []
    for kind, label, hint in PLAYERS:
        players.append(
            f'<div class="player"><span class="label">{label}</span> '
            f'<span class="hint">{_esc(hint)}</span>'
            f'<audio controls preload="metadata" data-kind="{kind}" src="{_url(files[kind])}"></audio></div>'
        )
    windows = f", {item['n_windows']} windows" if item["n_windows"] > 1 else ""
    gain = f" Played {abs(item['gain_db']):.1f} dB quieter to avoid clipping." if item["gain_db"] < -0.05 else ""
    return (
        f'<section class="item" id="{_esc(item["id"])}">'
        f"<h2>{_esc(item['id'])}: {_esc(item['predicted'])} ({100 * item['confidence']:.1f}%)</h2>"
        f'<div class="meta">{_esc(item["source"])} &middot; {_esc(_format_input(item["input"], item["seconds"]))}'
        f" &middot; explained at {sample_rate / 1000:g} kHz mono{windows}.{_esc(gain)}</div>"
        f'<div class="row"><img src="{_url(files["figure"])}" '
        f'alt="Spectrogram, mask and masked spectrogram of {_esc(item["id"])}">'
        f'<div class="side">{"".join(players)}<div class="label">Top classes</div>{_top_table(item)}</div>'
        "</div></section>"
    )


def render_page(report):
    """The HTML text of a run's report (``lmac_brain.interpret.core.interpret_inputs``)."""
    method = report["method"]
    settings = report["settings"]
    ok = [i for i in report["items"] if i["status"] == "ok"]
    failed = [i for i in report["items"] if i["status"] != "ok"]
    interpreter = (
        f"<br>Interpreter: <code>{_esc(method['interpreter'])}</code>" if method.get("interpreter") else ""
    )
    head = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(method['label'])} interpretations</title><style>{STYLE}</style></head><body>"
        f"<h1>{_esc(method['label'])} interpretations</h1>"
        f'<div class="meta">{report["n_explained"]} of {report["n_inputs"]} input(s) explained'
        f" &middot; {_esc(report['created'])} &middot; {settings['sample_rate'] / 1000:g} kHz, windows of "
        f"{settings['signal_length_s']:g} s with 50% overlap &middot; mask domain {_esc(method['domain'])}"
        f"<br>Classifier: <code>{_esc(method['classifier_hparams'])}</code> "
        f"(weights <code>{_esc(method['classifier_weights'])}</code>){interpreter}</div>"
    )
    problems = ""
    if failed:
        rows = "".join(
            f"<tr><td><code>{_esc(i['source'])}</code></td><td>{_esc(i['error'])}</td></tr>" for i in failed
        )
        problems = (
            f'<div class="problems" id="problems"><strong>{len(failed)} input(s) could not be explained</strong>'
            f"<table>{rows}</table></div>"
        )
    cards = "".join(_item_card(i, settings["sample_rate"]) for i in ok)
    return head + problems + cards + "</body></html>\n"


def write_page(path, report):
    """Write :func:`render_page` of ``report`` to ``path``."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(render_page(report))
