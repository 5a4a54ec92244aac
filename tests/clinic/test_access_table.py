"""Who may use each clinic route: every page and API endpoint x every role (the roles and the
world of tests/consent/test_access_table.py).

HOW TO EXTEND: a new route in clinic/urls.py or clinic/api_urls.py makes
`test_every_clinic_route_has_a_row` fail until you add a row to ROUTES below.
"""

from __future__ import annotations

import pytest

from tests.consent.test_access_table import (
    CLINICIAN_API,
    CLINICIAN_PAGE,
    ROLES,
    SUMMARY,
    UNAUTH,
    Route,
    _page,
    alice_id,
    app_route_names,
    check_access,
)

pytestmark = pytest.mark.django_db

# The timeline shows what any grant in force covers: the narrow (medicines only) grant opens it.
TIMELINE = {**SUMMARY, "clinician_narrow": 200}

ROUTES: dict[str, Route] = {
    "clinic:patients": Route("get", _page("clinic:patients"), CLINICIAN_PAGE),
    "clinic:timeline": Route("get", _page("clinic:timeline", alice_id), TIMELINE),
    "clinic:summary": Route("get", _page("clinic:summary", alice_id), SUMMARY),
    "clinic:summary_pdf": Route("get", _page("clinic:summary_pdf", alice_id), SUMMARY),
    "api_patients": Route("get", _page("api_patients"), CLINICIAN_API),
    "api_patient_summary": Route(
        "get", _page("api_patient_summary", alice_id), {**SUMMARY, "anonymous": UNAUTH}
    ),
}
assert all(set(r.expect) == set(ROLES) for r in ROUTES.values())


def test_every_clinic_route_has_a_row():
    names = app_route_names("clinic")
    assert names, "no clinic routes found: is clinic mounted?"
    assert not names - set(ROUTES), f"add rows to ROUTES for: {sorted(names - set(ROUTES))}"
    assert not set(ROUTES) - names, f"stale rows: {sorted(set(ROUTES) - names)}"


@pytest.mark.parametrize(
    "name, role", [pytest.param(n, r, id=f"{n}-{r}") for n in ROUTES for r in ROLES]
)
def test_access(client, name, role):
    check_access(client, ROUTES[name], role)
