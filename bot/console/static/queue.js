// Reload the queue when a ticket arrives or changes: poll a small JSON stamp.
(function () {
  "use strict";
  var box = document.getElementById("fresh");
  if (!box) return;
  var stamp = box.getAttribute("data-stamp");
  var every = parseInt(box.getAttribute("data-poll-ms"), 10) || 10000;
  var centre = box.getAttribute("data-centre") || "";
  function busy() {
    var el = document.activeElement;
    return el && (el.tagName === "INPUT" || el.tagName === "SELECT" || el.tagName === "TEXTAREA");
  }
  function check() {
    var url = "/console/queue/stamp.json" + (centre ? "?centre=" + encodeURIComponent(centre) : "");
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || data.stamp === stamp) return;
        if (busy()) {
          box.textContent = "有新的工单或变化，请刷新页面";
          box.className = "alert warn";
          return;
        }
        window.location.reload();
      })
      .catch(function () {})
      .then(function () { window.setTimeout(check, every); });
  }
  window.setTimeout(check, every);
})();
