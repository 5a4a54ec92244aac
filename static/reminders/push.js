/* "Allow notifications on this device": registers the reminder service worker, subscribes
 * with the server's VAPID key and sends the subscription to the API. Static file (the CSP
 * forbids inline script). The button stays hidden where the browser has no Web Push.
 * Its words come from Django's JavaScript catalogue (/jsi18n/<lang>/, loaded before it on every
 * page), English where that is absent. */
(function () {
  "use strict";

  function gettext(text) {
    return typeof window.gettext === "function" ? window.gettext(text) : text;
  }
  var button = document.getElementById("push-subscribe");
  var statusLine = document.getElementById("push-status");
  if (!button || !("serviceWorker" in navigator) || !("PushManager" in window)) {
    return;
  }

  function keyBytes(base64url) {
    var padded = base64url.replace(/-/g, "+").replace(/_/g, "/");
    padded += "===".slice((padded.length + 3) % 4);
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)(?:__Secure-)?csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function say(text) { statusLine.textContent = text; }

  // A browser that cannot reach its push service may never answer; give up after a while.
  function withTimeout(promise, ms) {
    return Promise.race([promise, new Promise(function (resolve, reject) {
      setTimeout(function () { reject(new Error("timed out")); }, ms);
    })]);
  }

  // pushManager.subscribe needs an active worker; this one's scope is not the page's, so
  // navigator.serviceWorker.ready (which waits for the page's own) would never resolve.
  function activated(registration) {
    if (registration.active) { return Promise.resolve(registration); }
    var worker = registration.installing || registration.waiting;
    return new Promise(function (resolve) {
      worker.addEventListener("statechange", function () {
        if (worker.state === "activated") { resolve(registration); }
      });
    });
  }

  async function subscribe() {
    button.disabled = true;
    try {
      var permission = await Notification.requestPermission();
      if (permission !== "granted") {
        say(gettext("Notifications are blocked for this site in your browser settings."));
        return;
      }
      var registration = await withTimeout(
        navigator.serviceWorker.register(button.dataset.sw).then(activated), 10000);
      var subscription = await registration.pushManager.getSubscription() ||
        await withTimeout(registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(button.dataset.vapidKey)
        }), 15000);
      var response = await fetch(button.dataset.api, {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
        body: JSON.stringify(subscription.toJSON())
      });
      if (response.ok) {
        say(gettext("This device will get reminder notifications. Tick \"As a notification\" above and save, if you have not yet."));
      } else {
        say(gettext("This device could not be set up for notifications. Please try again later."));
      }
    } catch (error) {
      // Kept for support (and the browser test): which step the browser refused.
      statusLine.dataset.error = String(error && error.name) + ": " + String(error && error.message);
      say(gettext("This browser could not set up notifications here."));
    } finally {
      button.disabled = false;
    }
  }

  button.hidden = false;
  button.addEventListener("click", subscribe);
})();
