"""The 通报's chart: each program's completed investment against its 序时 plan, as a PNG.

matplotlib on its Agg backend (no display), through the object API (no pyplot global state),
one render at a time (its font cache is not thread-safe). Chinese labels need a CJK font:
the Makefile's `fonts` target installs Debian's fonts-wqy-microhei for `make run` and
`make test`; the font is found by family name through matplotlib's font manager. Without one
the chart is still drawn (its Chinese shows as boxes) and a warning says how to fix it.
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Sequence
from functools import cache

import structlog

from guatu.ranking.bulletin import Investment

log = structlog.get_logger("guatu.bulletin")

# Sans-serif CJK families, the first one installed wins: Debian's (make fonts) first, then
# what Windows and macOS machines carry.
CJK_FAMILIES = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
)
FONT_HINT = "make fonts（apt-get install fonts-wqy-microhei）"

_LOCK = threading.Lock()
PLAN_COLOUR, MET_COLOUR, BEHIND_COLOUR = "#9aa5b1", "#2e7d32", "#c62828"


def _installed(family: str) -> bool:
    from matplotlib import font_manager

    try:
        font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    except ValueError:
        return False
    return True


@cache
def cjk_family() -> str | None:
    """The CJK font family the chart uses, or None (with a warning) when there is none."""
    from matplotlib import font_manager

    found = next((f for f in CJK_FAMILIES if _installed(f)), None)
    if found is None:
        # matplotlib caches the system's font list when first imported: a font installed since
        # (make fonts after the first run) is added here.
        known = {f.fname for f in font_manager.fontManager.ttflist}
        for path in font_manager.findSystemFonts():
            if path not in known:
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        found = next((f for f in CJK_FAMILIES if _installed(f)), None)
    if found is None:
        log.warning(
            "no CJK font for the 通报 chart: its Chinese labels will show as boxes",
            tried=list(CJK_FAMILIES),
            fix=FONT_HINT,
        )
    return found


def investment_chart(items: Sequence[Investment], title: str) -> bytes:
    """A horizontal bar chart in 亿元: per program (and in total) the 序时 plan to date and the
    investment completed, with the completion rate; PNG bytes, the same for the same input."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = [*items]
    planned_total = sum(i.planned_wan for i in rows)
    actual_total = sum(i.actual_wan for i in rows)
    rows.append(
        Investment(code="", name_zh="合计", actual_wan=actual_total, planned_wan=planned_total)
    )
    rows.reverse()  # barh draws bottom-up: the first program on top, the total at the bottom
    family = cjk_family()
    with _LOCK, warnings.catch_warnings():
        import matplotlib

        if family is None:  # said once by cjk_family, not once per missing glyph
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        with matplotlib.rc_context(
            {
                "font.family": "sans-serif",
                "font.sans-serif": [family, "DejaVu Sans"] if family else ["DejaVu Sans"],
                "axes.unicode_minus": False,  # a CJK font has no U+2212
                "svg.hashsalt": "guatu",
            }
        ):
            height = 1.6 + 0.55 * len(rows)
            fig = Figure(figsize=(7.0, height), dpi=150)
            FigureCanvasAgg(fig)
            ax = fig.add_subplot()
            ys = range(len(rows))
            plan = [r.planned_wan / 10_000 for r in rows]
            done = [r.actual_wan / 10_000 for r in rows]
            colours = [MET_COLOUR if r.actual_wan >= r.planned_wan else BEHIND_COLOUR for r in rows]
            ax.barh([y + 0.2 for y in ys], plan, height=0.38, color=PLAN_COLOUR, label="序时计划")
            ax.barh([y - 0.2 for y in ys], done, height=0.38, color=colours, label="实际完成")
            top = max([*plan, *done, 0.0]) or 1.0
            for y, r, value in zip(ys, rows, done, strict=True):
                rate = f"{r.actual_wan / r.planned_wan * 100:.1f}%" if r.planned_wan > 0 else "—"
                ax.text(
                    value + top * 0.01, y - 0.2, f"{value:.2f} ({rate})", va="center", fontsize=8
                )
            ax.set_yticks(list(ys), [r.name_zh for r in rows], fontsize=9)
            ax.set_xlim(0, top * 1.3)
            ax.set_title(title, fontsize=11)
            # Below the axis, where no bar can run into it.
            ax.legend(
                loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=8, frameon=False
            )
            ax.spines[["top", "right"]].set_visible(False)
            fig.tight_layout()
            out = io.BytesIO()
            # No Software / date metadata: the same round gives the same bytes.
            fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


__all__ = ["CJK_FAMILIES", "cjk_family", "investment_chart"]
