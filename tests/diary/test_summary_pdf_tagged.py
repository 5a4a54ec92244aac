"""The patient's summary PDF is an accessible, tagged PDF (PDF/UA-1 as WeasyPrint writes it): a
structure tree, marked content, the document language and a shown title, the chart as a figure
with alternative text, real text throughout, the patient's name on the first page only; and it
is written in the patient's language."""

from __future__ import annotations

import io
from collections import Counter
from datetime import timedelta

import pytest
from pypdf import PdfReader

from diary import services
from diary.selectors import patient_today
from tests.diary.conftest import save_day

pytestmark = pytest.mark.django_db
URL = "/diary/trends/summary/"


@pytest.fixture
def alice_summary(client, patient_alice):
    patient_alice.display_name = "Alice Example"
    patient_alice.save()
    today = patient_today(patient_alice)
    for n in range(70):
        save_day(patient_alice, n, fatigue=n % 10, flare=n in (3, 4))
    med = services.medicine_add(
        patient=patient_alice, name="Pilocarpine", dose="5", unit="mg", schedule="once_daily",
        start_date=today - timedelta(days=30),
    )  # fmt: skip
    services.dose_log_set(patient=patient_alice, medicine_id=med.id, day=today, status="taken")
    client.force_login(patient_alice)

    def get():
        response = client.get(
            URL,
            {"date_from": (today - timedelta(days=69)).isoformat(), "date_to": today.isoformat()},
        )
        assert response.status_code == 200, response.content[:500]
        return PdfReader(io.BytesIO(response.content))

    return get


def _structure(node, found: Counter, alts: list) -> None:
    node = node.get_object()
    if "/S" in node:
        found[node["/S"]] += 1
        if node["/S"] == "/Figure":
            alts.append(node.get("/Alt", ""))
    kids = node.get("/K")
    for kid in kids if isinstance(kids, list) else [kids]:
        if kid is not None and hasattr(kid.get_object(), "keys"):
            _structure(kid, found, alts)


def test_the_summary_is_a_tagged_pdf_with_structure_language_and_title(alice_summary):
    reader = alice_summary()
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])  # a pypdf BooleanObject
    assert root["/Lang"] == "en-GB"
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    assert reader.metadata.title.startswith("Diary summary, ")

    found, alts = Counter(), []
    _structure(root["/StructTreeRoot"], found, alts)
    assert found["/H1"] == 1 and found["/H2"] >= 4
    assert found["/Table"] >= 3 and found["/TH"] >= 10 and found["/TD"] >= 20
    assert found["/Figure"] == 1
    assert alts and "six symptom scores" in alts[0]


def test_the_summary_has_text_and_the_name_on_page_one_only(alice_summary):
    pages = [page.extract_text() for page in alice_summary().pages]
    assert len(pages) >= 2
    assert "Alice Example" in pages[0]
    assert all("Alice Example" not in page for page in pages[1:])
    text = "\n".join(pages)
    assert "Tiredness (fatigue)" in text and "Flare days (2)" in text
    assert "Pilocarpine 5 mg" in text
    # Every page carries the period and its number in the footer instead of the name.
    assert all(f"Page {n} / {len(pages)}" in page for n, page in enumerate(pages, start=1))


def test_a_german_patient_gets_the_summary_in_german(alice_summary, patient_alice):
    patient_alice.language = "de"
    patient_alice.save()
    reader = alice_summary()
    assert reader.trailer["/Root"]["/Lang"] == "de"
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Tagebuch-Zusammenfassung" in text and "Müdigkeit (Fatigue)" in text
    assert "Schubtage (2)" in text
    assert reader.metadata.title.startswith("Tagebuch-Zusammenfassung, ")


def test_someone_else_cannot_get_a_patients_summary(client, patient_bob, alice_summary):
    alice_summary()
    client.force_login(patient_bob)
    response = client.get(URL, {"date_from": "2020-01-01", "date_to": "2020-01-02"})
    # Bob only ever gets his own (empty) diary: a 400 with a message, never Alice's PDF.
    assert response.status_code == 400
    assert b"Alice Example" not in response.content
