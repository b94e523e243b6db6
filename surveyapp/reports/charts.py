"""Colours and number formats for charts, shared by pages and the PDF (as Jinja filters).

Colours follow docs/DESIGN.md: a diverging scale on the mean from 1 (orange) through 3
(near white) to 5 (teal-blue), and for every cell the text colour (ink or white) with the higher
contrast, which is at least 4.5:1 on every colour of this scale.
"""

from __future__ import annotations

from flask import Flask

UNFAVOURABLE = (0xB4, 0x53, 0x09)
NEUTRAL_LIGHT = (0xF3, 0xF4, 0xF6)
FAVOURABLE = (0x1D, 0x6F, 0x8F)
#: Pure black, not the page ink: on mid-tone cells only black (or white) reaches 4.5:1.
INK = (0x00, 0x00, 0x00)
WHITE = (0xFF, 0xFF, 0xFF)


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def _mix(a, b, t: float):
    return tuple(x + (y - x) * t for x, y in zip(a, b, strict=True))


def _luminance(rgb) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def heat_rgb(mean: float) -> tuple[float, float, float]:
    """Background of a heatmap cell for a mean on the 1..5 scale."""
    mean = min(5.0, max(1.0, mean))
    if mean < 3:
        return _mix(UNFAVOURABLE, NEUTRAL_LIGHT, (mean - 1) / 2)
    return _mix(NEUTRAL_LIGHT, FAVOURABLE, (mean - 3) / 2)


def heat_colour(mean: float) -> str:
    return _hex(heat_rgb(mean))


def heat_text_colour(mean: float) -> str:
    background = heat_rgb(mean)
    return "#ffffff" if contrast(background, WHITE) > contrast(background, INK) else "#000000"


def one_decimal(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def two_decimals(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.0f}%"


def signed(value: float | None) -> str:
    """+0.3 / −0.2 / 0.0 (with a real minus sign)."""
    if value is None:
        return "–"
    text = f"{abs(value):.1f}"
    if text == "0.0":
        return "0.0"
    return ("+" if value > 0 else "−") + text


def thousands(value: int) -> str:
    """A count with thousands separators: 44,133."""
    return f"{value:,}"


def register(app: Flask) -> None:
    for name, func in {
        "heat_colour": heat_colour, "heat_text_colour": heat_text_colour,
        "one_decimal": one_decimal, "two_decimals": two_decimals, "percent": percent,
        "signed": signed, "thousands": thousands,
    }.items():
        app.add_template_filter(func, name)
