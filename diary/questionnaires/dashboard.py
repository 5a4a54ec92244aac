"""The dashboard panel saying which questionnaires are due (found by diary.dashboard)."""

from __future__ import annotations

from diary.questionnaires.selectors import questionnaires_due


def dashboard_panel(request) -> tuple[str, dict] | None:
    due = questionnaires_due(patient=request.user)
    if not due:
        return None
    return "diary/_questionnaires_due.html", {"due": due}
