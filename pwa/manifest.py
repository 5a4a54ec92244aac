"""The web app manifest (W3C Web Application Manifest): what an installed app is called, its
icons, where it opens and how it looks."""

from __future__ import annotations

from django.templatetags.static import static

NAME = "My Sjögren's Diary"
SHORT_NAME = "Sjögren's Diary"
THEME_COLOUR = "#0b4f8a"  # --brand in static/css/site.css: the installed app's title bar
BACKGROUND_COLOUR = "#f7f7f4"  # --page: the splash screen matches the page behind it


def build() -> dict:
    icons = [
        {"src": static(f"pwa/icon-{size}.png"), "sizes": f"{size}x{size}", "type": "image/png"}
        for size in (192, 512)
    ]
    icons += [
        {
            "src": static(f"pwa/icon-maskable-{size}.png"),
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": "maskable",
        }
        for size in (192, 512)
    ]
    return {
        "id": "/",
        "name": NAME,
        "short_name": SHORT_NAME,
        "description": "A daily diary of Sjögren's symptoms and medicines, kept encrypted.",
        "lang": "en-GB",
        "dir": "ltr",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "categories": ["health", "medical"],
        "icons": icons,
    }
