"""The MOS report: Markdown tables, a CSV of every statistic and the figure of paper Fig. 2."""

import csv
from pathlib import Path

from lmac_brain.listening.config import CONTROL_LABELS


def _label(method, labels):
    return (labels or {}).get(method) or CONTROL_LABELS.get(method) or method


def mos_markdown(result, labels=None):
    """Two Markdown tables: MOS per method and group (Table 3), MOS per method and recording."""

    def cell(stats):
        return "" if stats is None else f"{stats.mean:.2f}"

    groups = list(result.groups)
    lines = ["| Method | " + " | ".join(groups) + " | n |", "|---|" + "---|" * (len(groups) + 1)]
    for method in result.methods:
        n = sum(s.n for (m, _), s in result.per_recording.items() if m == method)
        lines.append(f"| {_label(method, labels)} | "
                     + " | ".join(cell(result.overall.get((method, g))) for g in groups) + f" | {n} |")
    lines += ["", "| Method | " + " | ".join(result.recordings) + " |", "|---|" + "---|" * len(result.recordings)]
    for method in result.methods:
        lines.append(f"| {_label(method, labels)} | "
                     + " | ".join(cell(result.per_recording.get((method, t))) for t in result.recordings) + " |")
    return "\n".join(lines) + "\n"


def plot_mos(result, path, labels=None, include_controls=False):
    """Grouped bars of the MOS per recording, one bar per method (paper Fig. 2), 95% intervals.

    One panel per group of recordings; the hidden reference and the anchors are left out
    unless ``include_controls``.
    """
    from lmac_brain.reporting.plots import plt

    methods = [m for m in result.methods if include_controls or m not in CONTROL_LABELS]
    groups = list(result.groups.items())
    widths = [max(1, len(trials)) for _, trials in groups]
    fig, axes = plt.subplots(1, len(groups), figsize=(2.0 + 1.3 * sum(widths) + 0.3 * len(methods), 3.6),
                             squeeze=False, gridspec_kw={"width_ratios": widths}, sharey=True)
    bar = 0.8 / max(1, len(methods))
    for ax, (group, trials) in zip(axes[0], groups):
        for j, method in enumerate(methods):
            stats = [result.per_recording.get((method, t)) for t in trials]
            x = [i + (j - (len(methods) - 1) / 2) * bar for i in range(len(trials))]
            ax.bar(x, [s.mean if s else 0.0 for s in stats], bar, yerr=[s.ci95 if s else 0.0 for s in stats],
                   capsize=2, label=_label(method, labels))
        ax.set_xticks(range(len(trials)), trials, rotation=30, ha="right")
        ax.set_title(group)
        ax.set_ylim(0, 100)
    axes[0][0].set_ylabel("MOS")
    axes[0][-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_mos_report(result, folder, labels=None):
    """Write ``mos.md``, ``mos.csv`` (every statistic) and ``mos.png`` in ``folder``; return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": folder / "mos.md", "csv": folder / "mos.csv", "figure": folder / "mos.png"}
    paths["markdown"].write_text(mos_markdown(result, labels), encoding="utf-8")
    with open(paths["csv"], "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["method", "label", "scope", "n", "mos", "std", "ci95"])
        for scope, table in (("group", result.overall), ("recording", result.per_recording)):
            for (method, where), s in table.items():
                writer.writerow([method, _label(method, labels), f"{scope}:{where}", s.n,
                                 f"{s.mean:.4f}", f"{s.std:.4f}", f"{s.ci95:.4f}"])
    plot_mos(result, paths["figure"], labels)
    return {k: str(v) for k, v in paths.items()}
