"""Draws the installed app's icons (static/pwa/icon-*.png) with Pillow; the PNGs are committed.

A white diary page with a blue drop on the brand blue. The maskable icons keep the drawing
inside the central 80% circle that every launcher's mask leaves visible (W3C Manifest,
"icon masks": the safe zone is a circle of radius 40% of the icon).

Run: .venv/bin/python scripts/make_pwa_icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "static" / "pwa"
BRAND = (11, 79, 138)  # --brand in static/css/site.css
WHITE = (255, 255, 255)


def draw(size: int, *, maskable: bool) -> Image.Image:
    scale = 4  # draw large, then shrink: smooth edges without an anti-aliasing library
    big = size * scale
    image = Image.new(
        "RGB" if maskable else "RGBA", (big, big), BRAND if maskable else (0, 0, 0, 0)
    )
    pen = ImageDraw.Draw(image)
    if not maskable:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5, fill=BRAND)
    # The drawing's box: 60% of the icon when maskable (inside the safe circle), 76% otherwise.
    box = 0.60 if maskable else 0.76
    left = big * (1 - box) / 2
    width = big * box
    page = (left + width * 0.12, left, left + width * 0.88, left + width)
    pen.rounded_rectangle(page, radius=int(width * 0.08), fill=WHITE)
    # Lines of writing at the top of the page.
    for i in range(3):
        y = left + width * (0.14 + 0.1 * i)
        pen.rounded_rectangle(
            (left + width * 0.24, y, left + width * (0.76 - 0.12 * i), y + width * 0.045),
            radius=int(width * 0.02),
            fill=BRAND,
        )
    # A drop (dryness): a circle with a triangle on top.
    cx, cy, r = left + width / 2, left + width * 0.75, width * 0.14
    pen.ellipse((cx - r, cy - r, cx + r, cy + r), fill=BRAND)
    pen.polygon(
        [(cx - r * 0.97, cy - r * 0.25), (cx + r * 0.97, cy - r * 0.25), (cx, cy - r * 2.1)],
        fill=BRAND,
    )
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
        draw(size, maskable=True).save(OUT / f"icon-maskable-{size}.png", optimize=True)


if __name__ == "__main__":
    main()
