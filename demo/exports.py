"""The demo researcher's registry export: a destination with a finished run, so that a person
trying the app sees runs, files, a zip and the client pages at once.

Idempotent: the destination, the demo patient's consent and the run are made once; a later
`seed_demo` finds them and changes nothing (it never resets passwords or second factors).
"""

from __future__ import annotations

from accounts.models import User

DEMO_DESTINATION = "UK PSSR (demo)"
DEMO_REGISTRY = "uk-pssr"


def ensure_demo_export(*, patient_email: str, researcher_email: str):
    """The demo destination (researcher on it) and its finished run; returns the run."""
    from consent import selectors as consent_selectors
    from consent import services as consent_services
    from consent.defaults import ensure_defaults
    from consent.models import ConsentScope, Registry
    from registry_export import services
    from registry_export.models import Destination, RunStatus

    ensure_defaults()
    registry = Registry.objects.get(slug=DEMO_REGISTRY)
    patient = User.objects.get(email=patient_email)
    researcher = User.objects.get(email=researcher_email)
    # The demo patient shares with the registry once; a later withdrawal in the demo is kept.
    if (
        not consent_selectors.consent_history(patient=patient)
        .filter(scope=ConsentScope.REGISTRY_SHARING, registry=registry)
        .exists()
    ):
        document = consent_services.current_document(
            kind=ConsentScope.REGISTRY_SHARING, registry=registry
        )
        consent_services.consent_give(patient=patient, document=document, via="web")
    destination = Destination.objects.filter(name=DEMO_DESTINATION).first()
    if destination is None:
        destination = services.destination_create(
            name=DEMO_DESTINATION,
            description="Demonstration destination made by seed_demo: the demo patient's "
            "pseudonymised diary, as FHIR R4 NDJSON and REDCap CSV.",
            formats=["fhir", "redcap"],
            consent_scope=ConsentScope.REGISTRY_SHARING,
            registry=registry,
        )
    destination.researchers.add(researcher)
    done = destination.runs.filter(status=RunStatus.SUCCEEDED).order_by("-id").first()
    if done is not None:
        return done
    # Synchronously, in this process (as `manage.py export_run` does): no worker needed.
    run, _ = services.export_run_request(destination=destination, trigger="command", dispatch=False)
    return services.export_run_foreground(run=run, workers=1)
