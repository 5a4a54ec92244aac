/* Reminder notifications: shows the push message (title, body and the link to today's page;
 * never health data) and opens the link when the notification is clicked. Registered by
 * push.js under its own scope, so it sits beside the app's offline service worker. */
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  var title = data.title || "Diary reminder";
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body || "It's time for today's diary.",
    tag: data.tag || "diary-reminder",
    data: {url: data.url || "/"}
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.openWindow(url));
});
