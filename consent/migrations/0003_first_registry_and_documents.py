"""The first registry and version 1 of each consent document, so that a fresh site works.

Staff publish later versions in the admin; patients who agreed to version 1 are then asked to
review the new one.
"""

from django.db import migrations
from django.utils import timezone

REGISTRY = {
    "slug": "uk-pssr",
    "name": "UK Primary Sjögren's Syndrome Registry",
    "website": "",
}

DOCUMENTS = {
    "research_contact": (
        "Contact about research studies",
        "If you agree, the research team may contact you by email about research studies you "
        "might be able to join. Agreeing does not sign you up to any study: each study asks you "
        "separately. You can withdraw at any time, and using the diary never depends on it.",
    ),
    "registry_sharing": (
        "Sharing my diary with the UK Primary Sjögren's Syndrome Registry",
        "If you agree, your diary entries, questionnaire scores and medicines are sent to the UK "
        "Primary Sjögren's Syndrome Registry without your name, email or NHS number: a code "
        "replaces who you are, and only your birth year is included. Researchers use this to "
        "understand Sjögren's. If you withdraw, nothing more is sent and the registry is told "
        "to delete what it holds about you.",
    ),
    "nhs_linkage": (
        "Linking my diary with NHS records",
        "If you agree, your NHS number is used to link your diary with NHS hospital records for "
        "approved research. Your NHS number is stored encrypted and is only shared with the "
        "linkage service. You can withdraw at any time; no further linkage happens after that.",
    ),
    "imaging_research": (
        "Research use of my imaging",
        "If you agree, images your clinician uploads (with names and other identifying details "
        "removed) may be used to develop and test the image-scoring models. You can withdraw at "
        "any time; images are not used in new research after that.",
    ),
}


def forward(apps, schema_editor):
    Registry = apps.get_model("consent", "Registry")
    ConsentDocument = apps.get_model("consent", "ConsentDocument")
    registry, _ = Registry.objects.get_or_create(slug=REGISTRY["slug"], defaults=REGISTRY)
    now = timezone.now()
    for kind, (title, text) in DOCUMENTS.items():
        reg = registry if kind == "registry_sharing" else None
        ConsentDocument.objects.get_or_create(
            kind=kind,
            registry=reg,
            version=1,
            defaults={"title": title, "text": text, "created_at": now, "published_at": now},
        )


class Migration(migrations.Migration):
    dependencies = [("consent", "0002_access_log_append_only")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
