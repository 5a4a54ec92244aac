"""The installable app offline (issue 12), in a real browser against the live server.

A service worker needs a real origin: the live server on localhost is one (a secure context).
Offline is Playwright's network emulation (context.set_offline), which also cuts the worker's
own fetches, as the offline page test below shows.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from diary import selectors, services
from diary.models import SaveReceipt
from tests.e2e.conftest import PHONE
from tests.e2e.flows import sign_in
from tests.e2e.test_diary_flows import SYMPTOMS, YESTERDAY, doses_of, patient_with_medicine, scale

pytestmark = pytest.mark.e2e

EVERY_SCORE = dict(zip(SYMPTOMS, (7, 6, 5, 8, 3, 4), strict=True))
NOTE = "Train tunnel: written offline"


def wait_for_worker(page) -> None:
    """The worker is installed and controls this page (it claims open pages on activation, and
    a page that loaded while it was activating asks to be claimed)."""
    page.wait_for_function(
        "() => navigator.serviceWorker && !!navigator.serviceWorker.controller", timeout=30_000
    )


def kept_pages(page) -> list[str]:
    return page.evaluate(
        """async () => {
            if (!(await caches.has('diary-pages'))) return [];
            const cache = await caches.open('diary-pages');
            return (await cache.keys()).map(r => new URL(r.url).pathname);
        }"""
    )


def poll(page, check, what: str, timeout: float = 15.0) -> None:
    """Wait until check() is true; the checks read IndexedDB and Cache Storage, which answer
    asynchronously, so they are polled from here rather than with wait_for_function."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}", pytrace=False)
        page.wait_for_timeout(200)


def wait_until_kept(page, path: str) -> None:
    poll(page, lambda: path in kept_pages(page), f"{path} to be kept on the device")


# The raw queue, read past the page script: what is really stored on the device.
RAW_QUEUE = """async () => {
    const db = await new Promise((ok, ko) => {
        const r = indexedDB.open('diary-offline', 1);
        r.onupgradeneeded = () => { r.result.createObjectStore('meta');
                                    r.result.createObjectStore('queue', {keyPath: 'id'}); };
        r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error);
    });
    const read = (store, fn) => new Promise((ok, ko) => {
        const q = fn(db.transaction(store).objectStore(store));
        q.onsuccess = () => ok(q.result); q.onerror = () => ko(q.error);
    });
    const items = await read('queue', s => s.getAll());
    const key = await read('meta', s => s.get('key'));
    db.close();
    return {
        items: items.map(i => ({id: i.id, state: i.state,
                                bytes: Array.from(new Uint8Array(i.data || new ArrayBuffer(0)))})),
        key: key ? {type: key.type, extractable: key.extractable, algorithm: key.algorithm.name,
                    usages: key.usages} : null,
    };
}"""


def raw_queue(page) -> dict:
    return page.evaluate(RAW_QUEUE)


def wait_for_queue_length(page, length: int) -> None:
    poll(
        page,
        lambda: len(raw_queue(page)["items"]) == length,
        f"{length} day(s) waiting on the device",
    )


def reopen(browse):
    """Close the page and open the app again in the same browser profile (cookies, worker and
    storage stay), as a patient closing and reopening the installed app."""
    context = browse.page.context
    browse.page.close()
    page = context.new_page()
    page.on("load", lambda p: browse.loaded.append(p.url))
    page.on("pageerror", lambda exc: browse.problems.append(f"JavaScript error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            browse.problems.append(f"CSP violation: {msg.text}")
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    browse.page = page
    return page


def fill_every_value(page) -> None:
    for symptom, value in EVERY_SCORE.items():
        scale(page, symptom, value).click()
    page.get_by_role("group", name="Is this a flare day?").get_by_label("Yes").check()
    factors = page.get_by_role("group", name="Anything that may have made it worse?")
    factors.get_by_label("Dry or heated air").check()
    factors.get_by_label("Travel or flight").check()
    page.get_by_label("Note").fill(NOTE)
    page.get_by_role("group", name="Pilocarpine 5 mg, 08:00").get_by_label("Taken").check()
    page.get_by_role("group", name="Pilocarpine 5 mg, 20:00").get_by_label("Missed").check()


def go_offline_on_the_day_page(browse, day_path: str) -> None:
    """Online: sign in, let the worker install and keep the day page; then lose the network."""
    page = browse.page
    wait_for_worker(page)
    browse.goto(day_path)
    wait_until_kept(page, day_path)
    page.context.set_offline(True)
    browse.goto(day_path)  # from the device: the network is gone
    assert page.evaluate("() => navigator.onLine") is False


def test_a_day_logged_offline_reaches_the_server_once_with_every_value(browse):
    alice, medicine, today = patient_with_medicine("alice@example.org")
    page = browse.page
    sign_in(browse, alice.email)
    day_path = f"/diary/day/{today.isoformat()}/"
    go_offline_on_the_day_page(browse, day_path)

    fill_every_value(page)
    page.get_by_role("button", name="Save today", exact=True).click()
    status = page.locator("#offline-queue").get_by_role("status")
    status.wait_for()
    assert page.get_by_role("heading", name="Saved on this device").is_visible()
    assert "is kept on this device. 1 day is waiting to be sent" in status.inner_text()
    browse.check()  # the new panel passes axe
    browse.screenshot("offline-day-queued")
    assert selectors.entry_on(patient=alice, day=today) is None  # nothing reached the server

    # What waits on the device is encrypted under a key no script can read back.
    stored = raw_queue(page)
    assert len(stored["items"]) == 1
    assert stored["key"] == {
        "type": "secret",
        "extractable": False,
        "algorithm": "AES-GCM",
        "usages": ["encrypt", "decrypt"],
    }
    assert NOTE.encode() not in bytes(stored["items"][0]["bytes"])
    assert b"dryness_eyes" not in bytes(stored["items"][0]["bytes"])

    # Close the app; reopen it, still offline: the dashboard comes from the device too.
    page = reopen(browse)
    browse.goto("/")
    assert "1 day is waiting to be sent" in page.locator("#offline-queue").inner_text()

    # The connection returns: the day is sent, once.
    page.context.set_offline(False)
    wait_for_queue_length(page, 0)
    page.wait_for_function(
        "() => /Sent to your diary/.test(document.querySelector('#offline-queue')?.innerText"
        " || '') || !document.querySelector('#offline-queue')"
    )
    saved = selectors.entry_on(patient=alice, day=today).values()
    assert {k: saved[k] for k in YESTERDAY if k not in ("flare", "factors", "note")} == {
        "dryness_eyes": 7,
        "dryness_mouth": 6,
        "dryness_skin": 5,
        "fatigue": 8,
        "muscle_pain": 3,
        "joint_pain": 4,
    }
    assert saved["flare"] is True
    assert sorted(saved["factors"]) == ["dry_air", "travel"]
    assert saved["note"] == NOTE
    assert doses_of(alice, today) == {1: "taken", 2: "missed"}
    assert SaveReceipt.objects.filter(patient=alice, entry_date=today).count() == 1
    browse.screenshot("offline-day-sent")

    # Reloading (another load, another flush) sends nothing again.
    browse.goto("/")
    assert SaveReceipt.objects.filter(patient=alice, entry_date=today).count() == 1
    assert raw_queue(page)["items"] == []
    del medicine


def test_a_day_changed_elsewhere_meanwhile_shows_both_versions_and_the_patient_chooses(browse):
    alice, _, today = patient_with_medicine("alice@example.org", joined_days_ago=3)
    services.day_save(patient=alice, entry_date=today, values=YESTERDAY)
    page = browse.page
    sign_in(browse, alice.email)
    day_path = f"/diary/day/{today.isoformat()}/"
    go_offline_on_the_day_page(browse, day_path)

    scale(page, "Tiredness (fatigue)", 2).click()
    page.get_by_label("Note").fill("from the train")
    page.get_by_role("button", name="Save today", exact=True).click()
    page.locator("#offline-queue").get_by_role("status").wait_for()
    # Meanwhile the laptop saves the day with another note.
    services.day_save(patient=alice, entry_date=today, values={**YESTERDAY, "note": "from laptop"})

    page.context.set_offline(False)
    heading = page.get_by_role("heading", name="was changed somewhere else")
    heading.wait_for()
    table = page.get_by_role("table", name="Your version and the saved one")
    note_row = table.get_by_role("row", name="Note")
    assert "from the train" in note_row.inner_text() and "from laptop" in note_row.inner_text()
    fatigue_row = table.get_by_role("row", name="Tiredness (fatigue) (different)")
    assert fatigue_row.get_by_role("cell").all_inner_texts() == ["2", "7"]
    assert selectors.entry_on(patient=alice, day=today).note == "from laptop"  # not overwritten
    assert len(raw_queue(page)["items"]) == 1  # still waiting for the patient's choice
    status = page.locator("#offline-queue").get_by_role("status").inner_text()
    assert "1 day kept on this device needs your decision" in status
    browse.check()
    browse.screenshot("offline-conflict")

    # The choice survives closing the app.
    page = reopen(browse)
    browse.goto("/")
    page.get_by_role("button", name="Keep mine").click()
    wait_for_queue_length(page, 0)
    page.get_by_text("Sent to your diary").wait_for()
    saved = selectors.entry_on(patient=alice, day=today).values()
    assert (saved["note"], saved["fatigue"]) == ("from the train", 2)
    browse.check()


def test_keep_the_saved_one_drops_only_the_device_copy(open_browse):
    alice, _, today = patient_with_medicine("alice@example.org", joined_days_ago=3)
    services.day_save(patient=alice, entry_date=today, values=YESTERDAY)
    browse = open_browse(PHONE)  # the panel at 360 px: axe and no sideways scrolling
    page = browse.page
    sign_in(browse, alice.email)
    go_offline_on_the_day_page(browse, f"/diary/day/{today.isoformat()}/")
    page.get_by_label("Note").fill("from the train")
    page.get_by_role("button", name="Save today", exact=True).click()
    page.locator("#offline-queue").get_by_role("status").wait_for()
    services.day_save(patient=alice, entry_date=today, values={**YESTERDAY, "note": "from laptop"})
    page.context.set_offline(False)
    page.get_by_role("button", name="Keep the saved one").wait_for()
    browse.check()
    browse.screenshot("offline-conflict")
    page.get_by_role("button", name="Keep the saved one").click()
    page.get_by_text("Kept the saved version").wait_for()
    assert raw_queue(page)["items"] == []
    assert selectors.entry_on(patient=alice, day=today).note == "from laptop"


def test_a_future_day_or_unreadable_entry_is_explained_and_kept_until_sign_out_clears_it(browse):
    alice, _, today = patient_with_medicine("alice@example.org")
    page = browse.page
    sign_in(browse, alice.email)
    go_offline_on_the_day_page(browse, f"/diary/day/{today.isoformat()}/")
    # A queued day for a date that has not come (a page kept from another time zone, or tampered).
    tomorrow = (today + timedelta(days=1)).isoformat()
    page.evaluate(
        "(d) => document.getElementById('day-form').setAttribute('action', `/diary/day/${d}/`)",
        tomorrow,
    )
    fill_every_value(page)
    page.get_by_role("button", name="Save today", exact=True).click()
    page.locator("#offline-queue").get_by_role("status").wait_for()
    # And an entry nobody can read (storage damaged, or written by something else).
    page.evaluate(
        """async () => {
            const db = await new Promise(ok => { const r = indexedDB.open('diary-offline', 1);
                                                 r.onsuccess = () => ok(r.result); });
            await new Promise(ok => { const tx = db.transaction('queue', 'readwrite');
                tx.objectStore('queue').put({id: 'garbage', created: 1, state: 'pending',
                    iv: new Uint8Array(12), data: new Uint8Array([1, 2, 3]).buffer});
                tx.oncomplete = ok; });
            db.close();
        }"""
    )

    page.context.set_offline(False)
    refused = page.get_by_role("heading", name="was not saved")
    refused.wait_for()
    panel = page.locator("#offline-queue")
    assert "in the future" in panel.inner_text()
    assert "A saved day cannot be read" in panel.inner_text()
    assert len(raw_queue(page)["items"]) == 2  # nothing dropped without the patient's say
    assert selectors.entry_on(patient=alice, day=today) is None
    browse.check()
    browse.screenshot("offline-refused")

    # "Try again" asks the server again and keeps the day while it still refuses.
    page.get_by_role("button", name="Try again").click()
    refused.wait_for()
    assert len(raw_queue(page)["items"]) == 2

    # Signing out removes the queue, its key and the kept pages from the device.
    browse.submit("Sign out")
    assert raw_queue(page) == {"items": [], "key": None}
    assert kept_pages(page) == []


def test_a_day_queued_as_the_session_ends_waits_for_sign_in_then_is_sent(browse):
    alice, _, today = patient_with_medicine("alice@example.org")
    page = browse.page
    sign_in(browse, alice.email)
    go_offline_on_the_day_page(browse, f"/diary/day/{today.isoformat()}/")
    fill_every_value(page)
    page.get_by_role("button", name="Save today", exact=True).click()
    page.locator("#offline-queue").get_by_role("status").wait_for()
    # The session ends on the device (cookies dropped) before the connection returns.
    page.context.clear_cookies()
    page.context.set_offline(False)
    page.get_by_text("Sign in again to send it.").wait_for()
    assert len(raw_queue(page)["items"]) == 1
    assert selectors.entry_on(patient=alice, day=today) is None

    sign_in(browse, alice.email)
    wait_for_queue_length(page, 0)
    assert selectors.entry_on(patient=alice, day=today).note == NOTE
    assert SaveReceipt.objects.filter(patient=alice, entry_date=today).count() == 1


def test_another_account_on_the_device_neither_sees_nor_sends_a_queued_day(browse):
    from tests.factories import PatientFactory

    alice, _, today = patient_with_medicine("alice@example.org")
    bob = PatientFactory(email="bob@example.org", display_name="Bob")
    page = browse.page
    sign_in(browse, alice.email)
    day_path = f"/diary/day/{today.isoformat()}/"
    go_offline_on_the_day_page(browse, day_path)
    fill_every_value(page)
    page.get_by_role("button", name="Save today", exact=True).click()
    page.locator("#offline-queue").get_by_role("status").wait_for()
    # Alice's session ends without signing out; Bob signs in on the same device.
    page.context.clear_cookies()
    page.context.set_offline(False)
    sign_in(browse, bob.email)
    assert browse.path == "/"
    assert not page.locator("#offline-queue").count()
    assert day_path not in kept_pages(page)  # Alice's kept page is gone
    assert len(raw_queue(page)["items"]) == 1  # her day waits, unseen and unsent
    assert selectors.entry_on(patient=bob, day=today) is None
    assert selectors.entry_on(patient=alice, day=today) is None

    # Bob signs out (only his own days would go); Alice signs in and her day is sent.
    browse.submit("Sign out")
    assert len(raw_queue(page)["items"]) == 1
    sign_in(browse, alice.email)
    wait_for_queue_length(page, 0)
    assert selectors.entry_on(patient=alice, day=today).note == NOTE
    assert selectors.entry_on(patient=bob, day=today) is None


def test_pages_not_kept_on_the_device_show_the_offline_page(browse):
    alice, _, _ = patient_with_medicine("alice@example.org")
    page = browse.page
    sign_in(browse, alice.email)
    wait_for_worker(page)
    page.context.set_offline(True)
    browse.goto("/diary/medicines/")
    assert page.get_by_role("heading", name="You are offline").is_visible()
    assert "Alice" not in page.inner_text("body")
    browse.screenshot("offline-page")


def test_manifest_is_valid_and_the_app_installable(browse):
    browse.goto("/")
    page = browse.page
    manifest = page.evaluate(
        "async () => JSON.parse(await (await fetch('/manifest.webmanifest')).text())"
    )
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    assert manifest["name"] and manifest["short_name"] and manifest["theme_color"]
    wait_for_worker(page)
    cdp = page.context.new_cdp_session(page)
    app = cdp.send("Page.getAppManifest")
    assert app["errors"] == [], app["errors"]
    assert app["url"].endswith("/manifest.webmanifest")
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # Playwright's browser contexts are incognito profiles, where Chromium never installs apps;
    # every other check (manifest, icons, worker with a fetch handler, secure origin) must pass.
    assert [e for e in errors if e["errorId"] != "in-incognito"] == [], errors


def test_a_save_whose_connection_drops_in_flight_is_queued_by_the_worker(browse):
    """The browser believes it is online but the request fails (a tunnel, "lie-fi"): the worker
    keeps what was typed and shows the offline page, which lists the waiting day."""
    alice, _, today = patient_with_medicine("alice@example.org")
    page = browse.page
    sign_in(browse, alice.email)
    wait_for_worker(page)
    day_path = f"/diary/day/{today.isoformat()}/"
    browse.goto(day_path)
    page.context.route(f"**{day_path}", lambda route: route.abort("internetdisconnected"))
    fill_every_value(page)
    browse.submit("Save today")
    assert browse.path == "/offline/"
    assert "1 day is waiting to be sent" in page.locator("#offline-queue").inner_text()
    assert selectors.entry_on(patient=alice, day=today) is None

    page.context.unroute(f"**{day_path}")
    browse.goto("/")
    wait_for_queue_length(page, 0)
    saved = selectors.entry_on(patient=alice, day=today).values()
    assert (saved["note"], saved["fatigue"], saved["flare"]) == (NOTE, 8, True)
    assert doses_of(alice, today) == {1: "taken", 2: "missed"}


def test_a_german_patient_sees_the_offline_queue_in_german(browse):
    # The page script's words come from the JavaScript catalogue (/jsi18n/de/), which the
    # worker precaches: the day page opened from the device still speaks German.
    from tests.e2e.test_german_pages import german_patient, tap

    anna, today = german_patient("anna.offline@example.org")
    page = browse.page
    sign_in(browse, anna.email)
    day_path = f"/diary/day/{today.isoformat()}/"
    go_offline_on_the_day_page(browse, day_path)
    assert page.locator("html").get_attribute("lang") == "de"

    for name in ("Trockene Augen", "Trockener Mund", "Trockene Haut"):
        tap(page, name, 4)
    for name in ("Müdigkeit (Fatigue)", "Muskelschmerzen", "Gelenkschmerzen"):
        tap(page, name, 2)
    page.get_by_role("button", name="Heute speichern", exact=True).click()
    status = page.locator("#offline-queue").get_by_role("status")
    status.wait_for()
    assert page.get_by_role("heading", name="Auf diesem Gerät gespeichert").is_visible()
    assert not page.get_by_role("heading", name="Saved on this device").count()
    text = status.inner_text()
    assert "ist auf diesem Gerät gespeichert. 1 Tag wartet darauf, gesendet zu werden" in text
    weekday = today.strftime("%A")
    german_days = dict(
        zip(
            ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
            ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
            strict=True,
        )
    )
    assert german_days[weekday] in text and weekday not in text  # the date, in German too
    assert "Beim Abmelden werden Tage entfernt" in page.locator("#offline-queue").inner_text()
    browse.check()  # axe: no violations in the German panel
    browse.screenshot("offline-day-queued-de")
    assert selectors.entry_on(patient=anna, day=today) is None

    # Back online: the day is sent, and the panel says so in German.
    page.context.set_offline(False)
    wait_for_queue_length(page, 0)
    page.wait_for_function(
        "() => /An Ihr Tagebuch gesendet/.test(document.querySelector('#offline-queue')?.innerText"
        " || '') || !document.querySelector('#offline-queue')"
    )
    assert selectors.entry_on(patient=anna, day=today) is not None
