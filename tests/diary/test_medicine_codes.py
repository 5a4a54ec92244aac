"""Medicines are chosen from a coded list (WHO ATC) or "other"; the typed name of another
medicine stays the patient's own (exports carry only the code)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse

from diary import crypto, selectors, services
from diary.fields import MEDICINE_CHOICES, MEDICINE_CODE_SOURCE, medicine_code_for
from diary.models import MEDICINE_RECORD, Medicine
from diary.selectors import patient_today

pytestmark = pytest.mark.django_db
ATC_LEVEL_5 = re.compile(r"^[A-Z]\d{2}[A-Z]{2}\d{2}$")


def test_the_list_is_atc_level_five_codes_with_its_source():
    codes = [code for code, _ in MEDICINE_CHOICES]
    assert all(ATC_LEVEL_5.match(c) for c in codes) and len(set(codes)) == len(codes)
    expected = {
        "P01BA02": "Hydroxychloroquine",
        "N07AX01": "Pilocarpine tablets",
        "N07AX03": "Cevimeline",
        "L04AX03": "Methotrexate",
        "S01XA18": "Ciclosporin eye drops",
        "L01FA01": "Rituximab",
        "H02AB06": "Prednisolone",
        "S01XA20": "Artificial tears",
        "L04AA06": "Mycophenolate",
        "L04AX01": "Azathioprine",
    }
    assert dict(MEDICINE_CHOICES) == expected
    assert "ATC" in MEDICINE_CODE_SOURCE and "atcddd.fhi.no" in MEDICINE_CODE_SOURCE


def test_the_add_page_stores_the_chosen_code_and_the_lists_name(client, patient_alice):
    client.force_login(patient_alice)
    response = client.post(
        reverse("diary:medicine_add"),
        {
            "choice": "N07AX03",
            "other_name": "ignored for a listed medicine",
            "dose": "30",
            "unit": "mg",
            "schedule": "three_times_daily",
            "start_date": patient_today(patient_alice).isoformat(),
        },
    )
    assert response.status_code == 302
    [med] = selectors.medicines_for(patient=patient_alice)
    assert (med.code, med.name) == ("N07AX03", "Cevimeline")
    assert b"Cevimeline" not in bytes(Medicine.objects.get().payload)


def test_another_medicine_keeps_its_typed_name_for_the_patient_only(client, patient_alice):
    client.force_login(patient_alice)
    client.post(
        reverse("diary:medicine_add"),
        {
            "choice": "other",
            "other_name": "Mum's saliva spray",
            "dose": "1",
            "unit": "spray",
            "schedule": "as_needed",
            "start_date": patient_today(patient_alice).isoformat(),
        },
    )
    [med] = selectors.medicines_for(patient=patient_alice)
    assert (med.code, med.name) == ("other", "Mum's saliva spray")
    assert "Mum&#x27;s saliva spray" in client.get(reverse("diary:medicine_list")).content.decode()


def test_the_add_page_refuses_a_code_not_in_the_list(client, patient_alice):
    client.force_login(patient_alice)
    response = client.post(
        reverse("diary:medicine_add"),
        {
            "choice": "X99XX99",
            "dose": "1",
            "unit": "mg",
            "schedule": "once_daily",
            "start_date": patient_today(patient_alice).isoformat(),
        },
    )
    assert response.status_code == 400 and not Medicine.objects.exists()


def test_the_api_takes_a_code_and_answers_with_it(alice_api, patient_alice):
    start = (patient_today(patient_alice) - timedelta(days=3)).isoformat()
    body = {"dose": "200", "unit": "mg", "schedule": "twice_daily", "start_date": start}
    coded = alice_api.post("/api/v1/medicines/", {**body, "code": "P01BA02"}, format="json")
    assert coded.status_code == 201
    assert (coded.json()["code"], coded.json()["name"]) == ("P01BA02", "Hydroxychloroquine")
    named = alice_api.post("/api/v1/medicines/", {**body, "name": "Plaquenil"}, format="json")
    assert named.json()["code"] == "P01BA02" and named.json()["name"] == "Plaquenil"
    other = alice_api.post("/api/v1/medicines/", {**body, "name": "Herbal tea"}, format="json")
    assert other.json()["code"] == "other"


@pytest.mark.parametrize(
    ("extra", "field"),
    [({"code": "Z00ZZ00"}, "code"), ({"code": "other", "name": ""}, "name"), ({}, "name")],
)
def test_the_api_refuses_an_unknown_code_or_other_without_a_name(
    alice_api, patient_alice, extra, field
):
    body = {
        "dose": "1",
        "unit": "mg",
        "schedule": "once_daily",
        "start_date": patient_today(patient_alice).isoformat(),
        **extra,
    }
    response = alice_api.post("/api/v1/medicines/", body, format="json")
    assert response.status_code == 400 and field in json.dumps(response.json())
    assert not Medicine.objects.exists()


def test_a_medicine_saved_before_the_list_is_coded_by_its_name(patient_alice):
    """Medicines recorded as free text keep their blob; reading matches the name to the list."""
    start = patient_today(patient_alice) - timedelta(days=10)
    rows = []
    for name in ("hydroxychloroquine ", "Grandma's remedy"):
        medicine = Medicine(id=uuid.uuid4(), patient=patient_alice, start_date=start)
        medicine.payload = crypto.encrypt_json(
            patient_id=patient_alice.pk,
            record_type=MEDICINE_RECORD,
            record_id=str(medicine.id),
            payload={"name": name, "dose": "200", "unit": "mg", "schedule": "once_daily"},
        )
        medicine.save()
        rows.append(medicine)
    codes = {m.name: m.code for m in selectors.medicines_for(patient=patient_alice)}
    assert codes == {"hydroxychloroquine ": "P01BA02", "Grandma's remedy": "other"}
    # A dose change writes the code into the blob from then on.
    services.medicine_update(
        patient=patient_alice, medicine_id=rows[0].id, dose="300", unit="mg", schedule="once_daily"
    )
    assert selectors.medicine_get(patient=patient_alice, medicine_id=rows[0].id).code == "P01BA02"
    assert medicine_code_for("  PLAQUENIL ") == "P01BA02" and medicine_code_for("") == "other"


def test_the_unit_field_offers_the_units_exports_can_code(client, patient_alice):
    client.force_login(patient_alice)
    html = client.get(reverse("diary:medicine_add")).content.decode()
    assert 'list="medicine-units"' in html and '<datalist id="medicine-units">' in html
    for unit in ("mg", "microgram", "drops", "tablets"):
        assert f'<option value="{unit}">' in html
