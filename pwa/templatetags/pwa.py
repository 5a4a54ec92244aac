"""`{% pwa_script %}`: the page script of the installable app (static/pwa/pwa.js).

It carries an opaque tag of the signed-in account (a keyed hash of the user id, never a name or
e-mail), so the offline queue on a shared device is only ever sent into its owner's diary, and
marks a patient's pages, the only pages the service worker keeps for offline use.
"""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.html import format_html

from pwa.views import catalog_url

register = template.Library()


def owner_tag(user) -> str:
    return salted_hmac("pwa.queue-owner", str(user.pk)).hexdigest()[:32]


@register.simple_tag(takes_context=True)
def pwa_script(context) -> str:
    user = context.get("user")
    signed_in = bool(user is not None and user.is_authenticated)
    patient = signed_in and getattr(user, "is_patient", False)
    # The page scripts' words first (deferred, so it runs before them in document order).
    return format_html(
        '<script src="{}" defer></script>'
        '<script type="module" id="pwa-script" src="{}" data-user="{}" data-patient="{}" '
        'data-logout="{}" data-offline-page="{}"></script>',
        catalog_url(),
        static("pwa/pwa.js"),
        owner_tag(user) if signed_in else "",
        "1" if patient else "0",
        reverse("account_logout"),
        # The offline page is rendered for nobody in particular; it shows the device's queue.
        "1" if context.get("pwa_offline_page") else "0",
    )
