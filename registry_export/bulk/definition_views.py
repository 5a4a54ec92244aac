"""The project's FHIR definitions (Questionnaire, CodeSystem) at their canonical URLs under
/fhir/, so that the codes and questionnaire URLs of every export resolve (issue 11).

Public and read-only: they hold no patient data (registry_export.formats.definitions)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from registry_export.bulk.views import FHIR_JSON, outcome
from registry_export.formats import definitions


@require_GET
def definition_search(request: HttpRequest, resource_type: str) -> HttpResponse:
    """`GET /fhir/<type>` (optionally `?url=<canonical>`): a searchset Bundle."""
    unknown = sorted(set(request.GET) - {"url", "_format"})
    if unknown:
        return outcome(400, f"Unsupported search parameter(s): {', '.join(unknown)}; use url.")
    found = definitions.resources(resource_type)
    wanted = request.GET.get("url")
    if wanted is not None:
        found = [r for r in found if r["url"] == wanted]
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "entry": [{"fullUrl": r["url"], "resource": r, "search": {"mode": "match"}} for r in found],
    }
    return JsonResponse(bundle, content_type=FHIR_JSON)


@require_GET
def definition_read(request: HttpRequest, resource_type: str, resource_id: str) -> HttpResponse:
    """`GET /fhir/<type>/<id>`: one definition, or 404 with an OperationOutcome."""
    found = definitions.resource(resource_type, resource_id)
    if found is None:
        return outcome(404, f"No {resource_type} {resource_id!r} here.", "not-found")
    return JsonResponse(found, content_type=FHIR_JSON)
