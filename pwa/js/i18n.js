/* The page's words, in the patient's language: Django's JavaScript catalogue (/jsi18n/<lang>/,
 * a same-origin script loaded before the page script and precached by the service worker)
 * defines gettext, ngettext and interpolate on the window. Where it is absent (a worker, or a
 * page kept on the device from before it was precached) these fall back to the English source,
 * so nothing breaks offline. Strings are extracted by `make messages` (djangojs domain).
 */
const catalog = typeof globalThis !== "undefined" ? globalThis : {};

export function gettext(text) {
  return typeof catalog.gettext === "function" ? catalog.gettext(text) : text;
}

export function ngettext(singular, plural, count) {
  if (typeof catalog.ngettext === "function") return catalog.ngettext(singular, plural, count);
  return count === 1 ? singular : plural;
}

/** interpolate("%(day)s was not saved", { day }) — named placeholders only. */
export function interpolate(format, values) {
  if (typeof catalog.interpolate === "function") return catalog.interpolate(format, values, true);
  return format.replace(/%\(\w+\)s/g, (match) => String(values[match.slice(2, -2)]));
}

/** The page's language for dates: <html lang>, or British English. */
export function pageLocale() {
  const lang = typeof document !== "undefined" && document.documentElement.lang;
  return lang || "en-GB";
}
