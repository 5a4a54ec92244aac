"""Who may use each consent route: every page and API endpoint x every role.

HOW TO EXTEND: a new route in consent/urls.py or consent/api_urls.py makes
`test_every_consent_route_has_a_row` fail until you add a row to ROUTES below, saying how to
call it and what each role gets. Roles:

- owner: the patient whose data or grant the route names (Alice)
- other_patient: another patient (Bob)
- clinician_grant: a verified clinician with an active grant from Alice covering every scope
- clinician_revoked / clinician_expired: the same clinician, grant revoked / expired
- clinician_narrow: an active grant covering only "medicines" (not the diary)
- researcher, anonymous

Every 403/404 answered to a signed-in user must also write a denied access-log row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from consent import services
from consent.models import AccessLogEvent, GrantStatus, SharingGrant
from tests.consent.conftest import make_grant, verify_clinician
from tests.factories import ClinicianFactory, PatientFactory, ResearcherFactory, StaffFactory
from tests.personas import login_verified

pytestmark = pytest.mark.django_db

ROLES = (
    "owner",
    "other_patient",
    "clinician_grant",
    "clinician_revoked",
    "clinician_expired",
    "clinician_narrow",
    "researcher",
    "anonymous",
)
CLINICIANS = ("clinician_grant", "clinician_revoked", "clinician_expired", "clinician_narrow")
LOGIN = "login"  # a page sends anonymous users to sign in
UNAUTH = "unauth"  # the API answers anonymous users 401 or 403


@dataclass
class World:
    alice: object
    bob: object
    actor: object | None
    target_grant: SharingGrant  # Alice -> another clinician: for revoke
    request_grant: SharingGrant  # a clinician's request to Alice: for accept / decline
    invitation_token: str


@dataclass(frozen=True)
class Route:
    method: str
    url: Callable[[World], str]
    expect: dict[str, int | str]
    data: dict = field(default_factory=dict)


def _statuses(**kw) -> dict[str, int | str]:
    """Expand the shorthands patients=, clinicians= into the roles."""
    out: dict[str, int | str] = {}
    if "patients" in kw:
        v = kw.pop("patients")
        out.update(owner=v, other_patient=v)
    if "clinicians" in kw:
        v = kw.pop("clinicians")
        out.update({c: v for c in CLINICIANS})
    out.update(kw)
    missing = set(ROLES) - set(out)
    assert not missing, f"row misses roles {missing}"
    return out


def _page(name: str, *args_of: Callable[[World], object]) -> Callable[[World], str]:
    return lambda w: reverse(name, args=[a(w) for a in args_of])


alice_id = lambda w: w.alice.public_id  # noqa: E731
target_grant_id = lambda w: w.target_grant.public_id  # noqa: E731
request_grant_id = lambda w: w.request_grant.public_id  # noqa: E731
invitation = lambda w: w.invitation_token  # noqa: E731

PATIENT_PAGE = _statuses(patients=200, clinicians=403, researcher=403, anonymous=LOGIN)
PATIENT_POST = _statuses(patients=302, clinicians=403, researcher=403, anonymous=LOGIN)
PATIENT_API = _statuses(patients=200, clinicians=403, researcher=403, anonymous=UNAUTH)
CLINICIAN_PAGE = _statuses(patients=403, clinicians=200, researcher=403, anonymous=LOGIN)
CLINICIAN_API = _statuses(patients=403, clinicians=200, researcher=403, anonymous=UNAUTH)
# Staff pages (clinician accounts): every role here is refused (staff: test_staff_clinicians.py)
STAFF_ONLY = _statuses(patients=403, clinicians=403, researcher=403, anonymous=LOGIN)
# A route naming Alice: only a grant in force that covers the diary opens it; everyone else
# gets the same 404 (it must not reveal whether the patient exists).
SUMMARY = _statuses(
    patients=404,
    clinician_grant=200,
    clinician_revoked=404,
    clinician_expired=404,
    clinician_narrow=404,
    researcher=404,
    anonymous=LOGIN,  # pages; the API row overrides it
)

ROUTES: dict[str, Route] = {
    # Patient pages
    "consent:overview": Route("get", _page("consent:overview"), PATIENT_PAGE),
    "consent:history": Route("get", _page("consent:history"), PATIENT_PAGE),
    "consent:access_log": Route("get", _page("consent:access_log"), PATIENT_PAGE),
    "consent:share": Route("get", _page("consent:share"), PATIENT_PAGE),
    "consent:give": Route("post", _page("consent:give"), PATIENT_POST, {"document_id": 1}),
    "consent:withdraw": Route(
        "post", _page("consent:withdraw"), PATIENT_POST, {"scope": "research_contact"}
    ),
    "consent:grant_revoke": Route(
        "post",
        _page("consent:grant_revoke", target_grant_id),
        {**PATIENT_POST, "other_patient": 404},
    ),
    "consent:request_answer": Route(
        "post",
        _page("consent:request_answer", request_grant_id),
        {**PATIENT_POST, "other_patient": 404},
        {"decision": "decline"},
    ),
    # Clinician pages
    "consent:clinician_request": Route("get", _page("consent:clinician_request"), CLINICIAN_PAGE),
    "consent:invitation": Route("get", _page("consent:invitation", invitation), CLINICIAN_PAGE),
    # Staff pages
    "consent:staff_clinicians": Route("get", _page("consent:staff_clinicians"), STAFF_ONLY),
    "consent:staff_clinician_new": Route("get", _page("consent:staff_clinician_new"), STAFF_ONLY),
    "consent:staff_clinician_verify": Route(
        "post",
        _page("consent:staff_clinician_verify", lambda w: w.target_grant.clinician.public_id),
        STAFF_ONLY,
        {"checked": "on"},
    ),
    # API
    "api_consent_documents": Route(
        "get",
        _page("api_consent_documents"),
        _statuses(patients=200, clinicians=200, researcher=200, anonymous=UNAUTH),
    ),
    "api_consents": Route("get", _page("api_consents"), PATIENT_API),
    "api_consent_withdraw": Route(
        "post",
        _page("api_consent_withdraw"),
        {**PATIENT_API, "owner": 400, "other_patient": 400},  # nothing given: a clear 400
        {"scope": "research_contact"},
    ),
    "api_consent_history": Route("get", _page("api_consent_history"), PATIENT_API),
    "api_grants": Route(
        "get",
        _page("api_grants"),
        _statuses(patients=200, clinicians=200, researcher=403, anonymous=UNAUTH),
    ),
    "api_grant_request": Route(
        "post",
        _page("api_grant_request"),
        {**CLINICIAN_API, **dict.fromkeys(CLINICIANS, 202)},
        {"patient_email": "alice@example.org", "scopes": ["diary"]},
    ),
    "api_grant_revoke": Route(
        "post",
        _page("api_grant_revoke", target_grant_id),
        {**PATIENT_API, "other_patient": 404},
    ),
    "api_grant_accept": Route(
        "post",
        _page("api_grant_accept", request_grant_id),
        {**PATIENT_API, "other_patient": 404},
    ),
    "api_grant_decline": Route(
        "post",
        _page("api_grant_decline", request_grant_id),
        {**PATIENT_API, "other_patient": 404},
    ),
    "api_my_access_log": Route("get", _page("api_my_access_log"), PATIENT_API),
}


def app_route_names(app: str) -> set[str]:
    """Every named route of an app's page and API url modules, as reverse() names."""
    names: set[str] = set()

    def walk(patterns, namespace: str | None, from_app: bool):
        for p in patterns:
            if isinstance(p, URLResolver):
                module = getattr(p.urlconf_module, "__name__", "")
                ns = p.namespace or namespace
                walk(p.url_patterns, ns, from_app or module.startswith(f"{app}."))
            elif isinstance(p, URLPattern) and from_app and p.name:
                names.add(f"{namespace}:{p.name}" if namespace else p.name)

    walk(get_resolver().url_patterns, None, False)
    return names


def test_every_consent_route_has_a_row():
    names = app_route_names("consent")
    assert names, "no consent routes found: is consent mounted?"
    missing = names - set(ROUTES)
    stale = set(ROUTES) - names
    assert not missing, f"add rows to ROUTES for: {sorted(missing)}"
    assert not stale, f"ROUTES lists routes that no longer exist: {sorted(stale)}"


def _world(role: str) -> World:
    alice = PatientFactory(email="alice@example.org", display_name="Alice")
    bob = PatientFactory(email="bob@example.org", display_name="Bob")
    staff = StaffFactory()
    other_doc = ClinicianFactory()
    verify_clinician(other_doc, by=staff)
    target = make_grant(alice, other_doc)
    asker = ClinicianFactory()
    verify_clinician(asker, by=staff)
    request_grant = make_grant(alice, asker, status=GrantStatus.REQUESTED)
    _, token = services.grant_create(
        patient=alice, clinician_email="invitee@example.org", scopes=["diary"]
    )
    actor = None
    now = timezone.now()
    if role == "owner":
        actor = alice
    elif role == "other_patient":
        actor = bob
    elif role == "researcher":
        actor = ResearcherFactory()
    elif role in CLINICIANS:
        actor = ClinicianFactory(email="carol@example.org")
        verify_clinician(actor, by=staff)
        scopes = (
            ("medicines",)
            if role == "clinician_narrow"
            else ("diary", "medicines", "questionnaires", "imaging")
        )
        extra = {}
        if role == "clinician_revoked":
            extra["revoked_at"] = now - timedelta(minutes=1)
        if role == "clinician_expired":
            extra["ends_at"] = now - timedelta(minutes=1)
        make_grant(alice, actor, scopes, **extra)
    return World(alice, bob, actor, target, request_grant, token)


def _cases():
    for name in ROUTES:
        for role in ROLES:
            yield pytest.param(name, role, id=f"{name}-{role}")


@pytest.mark.parametrize("name, role", list(_cases()))
def test_access(client, name, role):
    check_access(client, ROUTES[name], role)


def check_access(client, route: Route, role: str) -> None:
    world = _world(role)
    if world.actor is not None:
        if world.actor.role == "patient":
            client.force_login(world.actor)
        else:
            login_verified(client, world.actor)
    url = route.url(world)
    if route.method == "get":
        response = client.get(url)
    else:
        response = (
            client.post(url, route.data, content_type="application/json")
            if (url.startswith("/api/"))
            else client.post(url, route.data)
        )

    expected = route.expect[role]
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    elif expected == UNAUTH:
        assert response.status_code in (401, 403)
    else:
        assert response.status_code == expected, response.content[:300]
    if world.actor is not None and response.status_code in (403, 404):
        denied = AccessLogEvent.objects.filter(outcome="denied", actor_id=world.actor.pk)
        assert denied.exists(), "a refusal must write a denied access-log row"
