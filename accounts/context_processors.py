from __future__ import annotations

from django.conf import settings
from django.urls import NoReverseMatch, reverse

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
    """The portal's name (settings.SITE_NAME) for every template."""
    return {"site_name": settings.SITE_NAME}
