"""URL walker: every route of the project, visited as anonymous and as a wrong user.

HOW TO EXTEND (read this when `test_every_route_is_in_the_table` fails):
1. Add your route's name (namespaced, e.g. "diary:entry_day"; the bare name for API routes
   mounted without a namespace) to ROUTES below, in your app's block, with a Rule:
   - anon: what an anonymous visitor gets: LOGIN (302 to the sign-in page), UNAUTH (API: 401
     or 403), PUBLIC (anyone may open it; nothing checked) or ADMIN (302 to the admin sign-in).
   - wrong: the persona who must be refused (403 or 404): "patient" (Alice), "other_patient"
     (Bob: for routes naming Alice's objects), "clinician" (verified, with no grant from
     anyone), "researcher", "staff"; or None where no user is "wrong" (e.g. a public page).
   - method: "get" (default) or "post" for POST-only routes.
   - kwargs: optional, a function World -> URL kwargs, when the default samples (see SAMPLES:
     Alice's public id for `patient`, a random UUID, today's date, ...) do not fit.
2. Routes of the admin site and of django-allauth are matched by PREFIX_RULES / MODULE_RULES.
3. Run `pytest tests/test_url_walker.py`.
A route missing from the table fails the suite: access rules are never left implicit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from tests.factories import ClinicianFactory, PatientFactory, ResearcherFactory, StaffFactory
from tests.personas import login_verified

LOGIN = "login"
UNAUTH = "unauth"
PUBLIC = "public"
ADMIN = "admin"


@dataclass(frozen=True)
class Rule:
    anon: str
    wrong: str | None
    method: str = "get"
    kwargs: Callable[[World], dict] | None = None


@dataclass
class World:
    patient: object  # Alice, who owns the objects routes name
    other_patient: object
    clinician: object
    researcher: object
    staff: object


def _patient(method: str = "get", **kw) -> Rule:
    """A patient's own page: clinicians (and others) are refused."""
    return Rule(LOGIN, "clinician", method, **kw)


def _patient_api(method: str = "get", **kw) -> Rule:
    return Rule(UNAUTH, "clinician", method, **kw)


ROUTES: dict[str, Rule] = {
    # --- accounts / config -----------------------------------------------------------------
    "home": Rule(PUBLIC, None),
    "healthz": Rule(PUBLIC, None),
    "privacy": Rule(PUBLIC, None),
    "terms": Rule(PUBLIC, None),
    "resend_confirmation": Rule(PUBLIC, None),
    "two_factor_enrol": Rule(LOGIN, None),
    "two_factor_verify": Rule(LOGIN, None),
    "two_factor_disable": Rule(LOGIN, None, "post"),
    "backup_codes_regenerate": Rule(LOGIN, None, "post"),
    "account_settings": Rule(LOGIN, None),
    "account_profile": Rule(LOGIN, None, "post"),
    "api_token": Rule(PUBLIC, None, "post"),
    # allauth's reset form, wrapped so that a mail failure is a calm message (accounts.views).
    "account_reset_password": Rule(PUBLIC, None),
    "api_profile": Rule(UNAUTH, None),
    # The OpenAPI schema and its docs page describe the API, never anyone's data.
    "api_schema": Rule(PUBLIC, None),
    "api_docs": Rule(PUBLIC, None),
    # The admin's own sign-in and sign-out pages (every other admin route: PREFIX_RULES).
    "admin:login": Rule(PUBLIC, None),
    "admin:logout": Rule(PUBLIC, None, "post"),
    # --- pwa: the installable app's manifest, service worker and offline page (no user data) --
    "pwa:manifest": Rule(PUBLIC, None),
    "pwa:service_worker": Rule(PUBLIC, None),
    "pwa:offline": Rule(PUBLIC, None),
    # The page scripts' words (Django's JavaScript catalogue), the same for everyone.
    "pwa:javascript_catalog": Rule(PUBLIC, None, kwargs=lambda w: {"language": "de"}),
    # --- diary -----------------------------------------------------------------------------
    "diary:entry_list": _patient(),
    "diary:entry_today": _patient(),
    "diary:entry_day": _patient(),
    "diary:entry_delete": _patient("post"),
    "diary:dose_checklist": _patient(),
    "diary:medicine_list": _patient(),
    "diary:medicine_add": _patient(),
    "diary:medicine_change": _patient(),
    "diary:medicine_stop": _patient(),
    "diary:my_data": _patient(),
    "diary:my_data_export": _patient(),
    "diary:account_delete": _patient(),
    "diary:questionnaire_list": _patient(),
    "diary:questionnaire_answer": _patient(),
    "diary:questionnaire_history": _patient(),
    "diary:questionnaire_detail": _patient(),
    "diary:trends": _patient(),
    "diary:bad_days": _patient(),
    "diary:summary_pdf": _patient(),
    "diary_api:entry_list": _patient_api(),
    "diary_api:entry_detail": _patient_api(),
    "diary_api:medicine_list": _patient_api(),
    "diary_api:medicine_detail": _patient_api(),
    "diary_api:adherence": _patient_api(),
    "diary_api:dose_list": _patient_api(),
    "diary_api:me": _patient_api(),
    "diary_api:me_export": _patient_api(),
    "diary_api:questionnaire_list": _patient_api(),
    "diary_api:questionnaire_instruments": Rule(UNAUTH, None),
    "diary_api:questionnaire_detail": _patient_api(),
    "diary_api:trends": _patient_api(),
    # --- consent (tests/consent/test_access_table.py checks every role on these) ----------
    "consent:overview": _patient(),
    "consent:give": _patient("post"),
    "consent:withdraw": _patient("post"),
    "consent:history": _patient(),
    "consent:share": _patient(),
    "consent:grant_revoke": _patient("post"),
    "consent:request_answer": _patient("post"),
    "consent:access_log": _patient(),
    "consent:invitation": Rule(LOGIN, "patient"),
    "consent:clinician_request": Rule(LOGIN, "patient"),
    "consent:staff_clinicians": Rule(LOGIN, "clinician"),  # staff only
    "consent:staff_clinician_new": Rule(LOGIN, "researcher"),  # staff only
    "consent:staff_clinician_verify": Rule(LOGIN, "clinician", "post"),  # staff only
    "api_consent_documents": Rule(UNAUTH, None),
    "api_consents": _patient_api(),
    "api_consent_withdraw": _patient_api("post"),
    "api_consent_history": _patient_api(),
    "api_grants": Rule(UNAUTH, "researcher"),
    "api_grant_request": Rule(UNAUTH, "patient", "post"),
    "api_grant_revoke": _patient_api("post"),
    "api_grant_accept": _patient_api("post"),
    "api_grant_decline": _patient_api("post"),
    "api_my_access_log": _patient_api(),
    # --- clinic (tests/clinic/test_access_table.py checks every role on these) -------------
    "clinic:patients": Rule(LOGIN, "patient"),
    "clinic:timeline": Rule(LOGIN, "clinician"),
    "clinic:summary": Rule(LOGIN, "clinician"),
    "clinic:summary_pdf": Rule(LOGIN, "clinician"),
    "api_patients": Rule(UNAUTH, "patient"),
    "api_patient_summary": Rule(UNAUTH, "clinician"),
    # The old addresses of the clinician's pages: a permanent redirect to clinic/, which then
    # applies its own checks (nothing is read on the way).
    "legacy_clinician_patients": Rule(PUBLIC, None),
    "legacy_clinician_summary": Rule(PUBLIC, None),
    # --- registry export -------------------------------------------------------------------
    "registry_export:destination_list": Rule(LOGIN, "patient"),
    "registry_export:run_now": Rule(LOGIN, "patient", "post"),
    "registry_export:run_detail": Rule(LOGIN, "patient"),
    "registry_export:run_file": Rule(LOGIN, "patient"),
    "registry_export:cohort": Rule(LOGIN, "patient"),
    "registry_export:run_list": Rule(LOGIN, "patient"),
    "registry_export:run_cancel": Rule(LOGIN, "patient", "post"),
    "registry_export:run_zip": Rule(LOGIN, "patient"),
    "registry_export:withdrawal_list": Rule(LOGIN, "patient"),
    "registry_export:client_list": Rule(LOGIN, "patient"),
    "registry_export:client_revoke": Rule(LOGIN, "patient", "post"),
    "api_export_destinations": Rule(UNAUTH, "patient"),
    "api_export_runs": Rule(UNAUTH, "patient"),
    "api_export_run": Rule(UNAUTH, "patient"),
    "api_export_run_file": Rule(UNAUTH, "patient"),
    # FHIR Bulk Data server: bearer tokens of backend clients, never a session, so every
    # signed-in user is as unauthenticated as an anonymous one (401) and none is "wrong".
    "bulk:metadata": Rule(PUBLIC, None),
    "bulk:smart_configuration": Rule(PUBLIC, None),
    "bulk:token": Rule(PUBLIC, None, "post"),
    "bulk:kickoff": Rule(UNAUTH, None),
    "bulk:status": Rule(UNAUTH, None),
    "bulk:file": Rule(UNAUTH, None),
    # --- reminders -------------------------------------------------------------------------
    "reminders:settings": _patient(),
    # Links in reminders: the signed token is the authority (tests/reminders/test_links.py);
    # "open" only redirects to the day page after sign-in, "unsubscribe" turns one channel off.
    "reminders:open": Rule(PUBLIC, None),
    "reminders:unsubscribe": Rule(PUBLIC, None),
    "reminder_settings": _patient_api(),
    "reminder_push_subscriptions": _patient_api(),
    # The project's FHIR definitions: public, no patient data (a sample id is a 404 outcome).
    "bulk:questionnaire_search": Rule(PUBLIC, None),
    "bulk:questionnaire_read": Rule(PUBLIC, None, kwargs=lambda w: {"resource_id": "esspri"}),
    "bulk:codesystem_search": Rule(PUBLIC, None),
    "bulk:codesystem_read": Rule(PUBLIC, None, kwargs=lambda w: {"resource_id": "diary-symptom"}),
    # --- imaging ---------------------------------------------------------------------------
    "imaging:patient_studies": Rule(LOGIN, "clinician"),
    "imaging:study": Rule(LOGIN, "clinician"),
    "imaging:study_image": Rule(LOGIN, "clinician"),
    "imaging:study_overlay": Rule(LOGIN, "clinician"),
    "imaging:joint_review": Rule(LOGIN, "clinician", "post"),
    "imaging:accept_model": Rule(LOGIN, "clinician", "post"),
    "imaging:agreement": Rule(LOGIN, "clinician"),  # staff only
    "imaging:bundle_card": Rule(LOGIN, "patient"),
    "api_imaging_studies": Rule(UNAUTH, "patient"),
    "api_imaging_result": Rule(UNAUTH, "clinician"),
    "api_imaging_review": Rule(UNAUTH, "clinician", "post"),
    "imaging:mri_patient_studies": Rule(LOGIN, "clinician"),
    "imaging:mri_study": Rule(LOGIN, "clinician"),
    "imaging:mri_volume": Rule(LOGIN, "clinician"),
    "imaging:mri_saliency": Rule(LOGIN, "clinician"),
    "imaging:mri_review": Rule(LOGIN, "clinician", "post"),
    "imaging:mri_accept_model": Rule(LOGIN, "clinician", "post"),
    "api_imaging_mri_studies": Rule(UNAUTH, "patient"),
    "api_imaging_mri_result": Rule(UNAUTH, "clinician"),
    "api_imaging_mri_review": Rule(UNAUTH, "clinician", "post"),
}

# Whole families of routes owned by libraries, matched before ROUTES.
PREFIX_RULES: dict[str, Rule] = {
    # Django's admin: anonymous users and non-staff are sent to the admin sign-in.
    "admin:": Rule(ADMIN, "patient"),
}
MODULE_RULES: dict[str, Rule] = {
    # django-allauth's sign-up, sign-in, password reset, e-mail confirmation pages.
    "allauth.": Rule(PUBLIC, None),
}

# Sample values for URL converters, by converter class name.
SAMPLES: dict[str, Callable[[World], object]] = {
    "IntConverter": lambda w: 1,
    "StringConverter": lambda w: "sample",
    "SlugConverter": lambda w: "esspri",
    "UUIDConverter": lambda w: uuid.uuid4(),
    "PathConverter": lambda w: "sample",
    "IsoDateConverter": lambda w: timezone.localdate().isoformat(),
}
# Parameters that name a person get Alice's (public) id, so a wrong user is asked for her data.
PERSON_KWARGS = {"patient": lambda w: w.patient.public_id}


@dataclass(frozen=True)
class Found:
    key: str
    pattern: URLPattern
    module: str


def walk_routes() -> list[Found]:
    """Every URL pattern of the project, recursively, keyed by its namespaced name."""
    found: list[Found] = []

    def walk(patterns, namespace: str | None, prefix: str):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = p.namespace
                walk(
                    p.url_patterns,
                    (f"{namespace}:{ns}" if namespace else ns) if ns else namespace,
                    prefix + str(p.pattern),
                )
            elif isinstance(p, URLPattern):
                name = p.name or prefix + str(p.pattern)  # unnamed: its full pattern
                key = f"{namespace}:{name}" if namespace else name
                module = getattr(p.callback, "__module__", "") or ""
                found.append(Found(key, p, module))

    walk(get_resolver().url_patterns, None, "")
    return found


def rule_for(found: Found) -> Rule | None:
    if found.key in ROUTES:
        return ROUTES[found.key]
    for prefix, rule in PREFIX_RULES.items():
        if found.key.startswith(prefix):
            return rule
    for module, rule in MODULE_RULES.items():
        if found.module.startswith(module):
            return rule
    return None


def test_every_route_is_in_the_table():
    routes = walk_routes()
    assert len(routes) > 20
    missing = sorted(f.key for f in routes if rule_for(f) is None)
    assert not missing, (
        "These routes have no row in tests/test_url_walker.py ROUTES (see the instructions at "
        f"the top of that file): {missing}"
    )
    keys = {f.key for f in routes}
    stale = sorted(k for k in ROUTES if k not in keys)
    assert not stale, f"ROUTES lists routes that no longer exist: {stale}"


def test_no_route_names_an_object_by_an_integer():
    """Issue 16: URLs name objects by opaque ids (UUIDs), so that nobody can count the rows or
    walk them. Only the admin site (staff only) keeps Django's own integer addresses."""
    integer = sorted(
        f.key
        for f in walk_routes()
        if not f.key.startswith("admin:")
        and any(type(c).__name__ == "IntConverter" for c in f.pattern.pattern.converters.values())
    )
    assert not integer, f"routes with an <int:...> parameter: {integer}"


def _url(found: Found, rule: Rule, world: World) -> str:
    if rule.kwargs is not None:
        kwargs = rule.kwargs(world)
    else:
        kwargs = {}
        for name, converter in found.pattern.pattern.converters.items():
            maker = PERSON_KWARGS.get(name) or SAMPLES.get(type(converter).__name__)
            assert maker, f"{found.key}: add a sample for {type(converter).__name__} to SAMPLES"
            kwargs[name] = maker(world)
    if found.pattern.name:
        return reverse(found.key, kwargs=kwargs)
    return "/" + found.key.split(":")[-1]  # an unnamed route without parameters


def _cases():
    for found in walk_routes():
        rule = rule_for(found)
        if rule is None or rule.anon == PUBLIC:
            continue
        pattern = found.pattern.pattern
        if not found.pattern.name and pattern.regex.groups:
            continue  # unnamed routes with parameters (the admin's redirect shims)
        if pattern.regex.groups and not pattern.converters and rule.kwargs is None:
            continue  # a regex route (the admin's app index, its catch-all): no sample values
        yield pytest.param(found.key, id=found.key)


@pytest.fixture
def world(db, settings) -> World:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from consent import services

    clinician = ClinicianFactory(email="walker-clinician@example.org")
    staff = StaffFactory(email="walker-staff@example.org")
    services.clinician_verify(clinician=clinician, by=staff)  # verified, but no grant
    return World(
        patient=PatientFactory(email="walker-alice@example.org"),
        other_patient=PatientFactory(email="walker-bob@example.org"),
        clinician=clinician,
        researcher=ResearcherFactory(email="walker-rita@example.org"),
        staff=staff,
    )


def _request(client, rule: Rule, url: str):
    if rule.method == "post":
        return client.post(url, {})
    return client.get(url)


_BY_KEY = {}


def _found(key: str) -> Found:
    if not _BY_KEY:
        _BY_KEY.update({f.key: f for f in walk_routes()})
    return _BY_KEY[key]


@pytest.mark.parametrize("key", list(_cases()))
def test_anonymous_is_sent_to_sign_in_or_refused(client, world, key):
    found = _found(key)
    rule = rule_for(found)
    response = _request(client, rule, _url(found, rule, world))
    if rule.anon == LOGIN:
        assert response.status_code == 302, f"{key}: {response.status_code}"
        assert response["Location"].startswith(reverse("account_login"))
    elif rule.anon == ADMIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    else:
        assert response.status_code in (401, 403), f"{key}: {response.status_code}"


@pytest.mark.parametrize(
    "key", [p for p in _cases() if rule_for(_found(p.values[0])).wrong is not None]
)
def test_wrong_user_is_refused(client, world, key):
    found = _found(key)
    rule = rule_for(found)
    user = getattr(world, rule.wrong)
    if user.role == "patient":
        client.force_login(user)
    else:
        login_verified(client, user)
    response = _request(client, rule, _url(found, rule, world))
    if rule.anon == ADMIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    else:
        assert response.status_code in (403, 404), f"{key}: {response.status_code}"
