"""{% imaging_summary report %}: the imaging block of the clinician summary."""

from __future__ import annotations

from django import template

from imaging import selectors

register = template.Library()


@register.inclusion_tag("imaging/_summary_block.html")
def imaging_summary(report) -> dict:
    """`report` is consent's PatientSummary, built after its grant check (which logged the
    read); imaging appears only when that grant covers imaging."""
    shared = bool(getattr(report, "imaging_shared", False))
    items = []
    if shared:
        for study, result in selectors.summary_studies(patient_id=report.patient_id):
            rows = selectors.joint_rows(result=result) if result else []
            items.append(
                {
                    "study": study,
                    "result": result,
                    "rows": rows,
                    "ra": (result.scores or {}).get("ra_pattern") if result else None,
                    "ra_row": selectors.ra_row(result=result) if result else None,
                    "confirmed": sum(1 for r in rows if r.review),
                }
            )
    return {
        "shared": shared,
        "items": items,
        "patient_public_id": getattr(report, "patient_public_id", None),
        "banner": "Demonstration model trained on synthetic images, not for clinical use.",
    }


@register.filter
def pct(value) -> str:
    """0.825 -> "82.5%"; None -> "" (the template says why there is no figure)."""
    if value is None:
        return ""
    return f"{100 * value:.1f}%"


@register.filter
def kind_count(counts: dict, kind: str) -> int:
    return counts.get(kind, 0)
