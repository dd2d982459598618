/*
 * Demo shop stand-in for the TikTok Pixel. This is NOT TikTok's code: it is a few lines written for the
 * console's demo shop that send Pixel-shaped requests (the JSON body fields of contract §6.3) to the Pixel's
 * endpoint URL with sendBeacon, the way the real Pixel does. Run offline, the console answers them locally.
 */
(function () {
  var CODE = document.currentScript.getAttribute("data-pixel-code");
  var ENDPOINT = "https://analytics.tiktok.com/api/v2/pixel";
  function cookie(name) {
    var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }
  var q = new URLSearchParams(location.search);
  if (q.get("ttclid")) document.cookie = "ttclid=" + encodeURIComponent(q.get("ttclid")) + "; path=/; max-age=2592000";
  if (!cookie("_ttp")) {
    document.cookie = "_ttp=demo" + Date.now().toString(36).toUpperCase() + "; path=/; max-age=34128000";
    document.cookie = "_tt_enable_cookie=1; path=/; max-age=34128000";
  }
  var user = {};
  var n = 0;
  function send(event, props, eventId) {
    n += 1;
    var body = {
      event: event, event_id: eventId || "", message_id: "messageId-" + Date.now() + "-" + n + "-" + CODE,
      timestamp: new Date().toISOString(),
      context: {pixel: {code: CODE}, page: {url: location.href, referrer: document.referrer},
                user: Object.assign({ttp: cookie("_ttp")}, user), ad: {sdk_env: "external"},
                library: {name: "demo-shop-standin (not TikTok's pixel.js)", version: "0.1"},
                userAgent: navigator.userAgent},
      properties: props || {}
    };
    navigator.sendBeacon(ENDPOINT, JSON.stringify(body));
  }
  async function sha256(text) {
    var bytes = new TextEncoder().encode(text);
    var digest = await crypto.subtle.digest("SHA-256", bytes);
    return Array.from(new Uint8Array(digest)).map(function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }
  window.ttq = {
    page: function () { send("Pageview", {}, "pv_" + (location.pathname.replace(/\W+/g, "") || "home") + "_" + cookie("_ttp")); },
    track: function (event, props, options) { send(event, props, options && options.event_id); },
    identify: async function (keys) {
      if (keys.email) user.email = await sha256(keys.email.trim().toLowerCase());
    }
  };
  // every link inside the shop carries the click id, so ttclid survives to checkout
  window.withTtclid = function (href) {
    var id = q.get("ttclid") || cookie("ttclid");
    if (!id) return href;
    var url = new URL(href, location.href);
    url.searchParams.set("ttclid", id);
    return url.pathname + url.search;
  };
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("a[href^='/']").forEach(function (a) { a.href = window.withTtclid(a.getAttribute("href")); });
  });
  window.demoCookie = cookie;
})();
