from __future__ import annotations

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language, to_locale

from accounts.navigation import NAVIGATION


def navigation(request):
    """Navigation links for the signed-in user's role (listed in accounts/navigation.py)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_links": []}
    links = []
    for label, url_name in NAVIGATION.get(user.role, []):
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        links.append({"label": label, "url": url, "current": request.path == url})
    return {"nav_links": links}


def site(request):
    """The portal's name (settings.SITE_NAME) for every template, and the active language as a
    BCP 47 tag for <html lang> ("en-gb" -> "en-GB")."""
    language = get_language() or settings.LANGUAGE_CODE
    return {"site_name": settings.SITE_NAME, "html_lang": to_locale(language).replace("_", "-")}
