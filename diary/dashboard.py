"""The patient's home page ("Today"): what to do now, in as few taps as possible.

Sub-features add a panel without editing this file: a module `diary/<feature>/dashboard.py`
defining `dashboard_panel(request) -> (template_name, context) | None` is found at start-up
(see DiaryConfig.ready); its template is rendered with that context and shown under the
diary's own panels.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from importlib import import_module
from importlib.util import find_spec

from django.template.loader import render_to_string

from diary import selectors

PANEL_MODULES = ("diary.questionnaires.dashboard", "diary.trends.dashboard")
PANEL_PROVIDERS: list[Callable] = []


def discover_panels() -> None:
    for name in PANEL_MODULES:
        try:
            found = find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            provider = getattr(import_module(name), "dashboard_panel", None)
            if provider is not None and provider not in PANEL_PROVIDERS:
                PANEL_PROVIDERS.append(provider)


def _streak(patient, today) -> int:
    """Consecutive days filled in, ending today (or yesterday if today is still open)."""
    dates = selectors.entry_dates(
        patient=patient, date_from=today - timedelta(days=365), date_to=today
    )
    day = today if today in dates else today - timedelta(days=1)
    count = 0
    while day in dates:
        count += 1
        day -= timedelta(days=1)
    return count


def patient_home_context(request) -> dict:
    patient = request.user
    today = selectors.patient_today(patient)
    first_day = selectors.patient_first_day(patient)
    week = selectors.entries_between(
        patient=patient, date_from=today - timedelta(days=6), date_to=today
    )
    by_day = {e.date: e for e in week}
    previous = selectors.entry_before(patient=patient, day=today)
    doses = selectors.dose_checklist(patient=patient, day=today)
    panels = [
        render_to_string(template, context, request=request)
        for template, context in filter(None, (provider(request) for provider in PANEL_PROVIDERS))
    ]
    context = {
        "diary_today": today,
        "diary_today_entry": by_day.get(today),
        "diary_previous": previous,
        # Days before sign-up were never missed, so the week starts no earlier than that.
        "diary_week": [
            (today - timedelta(days=i), by_day.get(today - timedelta(days=i)))
            for i in range(6, -1, -1)
            if today - timedelta(days=i) >= first_day or today - timedelta(days=i) in by_day
        ],
        "diary_streak": _streak(patient, today),
        "diary_doses_due": sum(1 for slot in doses if slot.status is None),
        "diary_doses_total": len(doses),
        "dashboard_panels": panels,
    }
    if by_day.get(today) is None:
        # Today's form right on the dashboard: a complete day is its answers and one save.
        from diary.views import day_form_context

        context["diary_day"] = day_form_context(request, today)
    return context
