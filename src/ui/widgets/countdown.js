// The countdown's one timer in the web view (src/ui/widgets/countdown.rs
// says what it may change and why). Run through `document::eval` each time
// a countdown is mounted, with the app clock in milliseconds at that moment;
// running it again only re-reads the anchor.
//
// Between the app's own renders it changes exactly this, once per second:
// the seconds text (the existing text node's value, so the renderer keeps
// its node), the ring's dash offset, the `urgent` class of the countdown
// and the `hidden` flag of the next code's box. It reads the anchor from the
// countdown's data attributes and again whenever the app re-renders them
// (a new step, a clock shift, a language switch).
(function (clockMs) {
  "use strict";
  var S = window.softtokenCountdown;
  if (!S) {
    S = window.softtokenCountdown = { el: null, observer: null, timer: 0, skew: 0, shown: 0 };
  }
  var ANCHOR = ["data-clock-ms", "data-period", "data-t0", "data-ending",
    "data-text-before", "data-text-after"];

  function num(name) {
    var v = Number(S.el.getAttribute(name));
    return isFinite(v) ? v : NaN;
  }
  function stop() {
    if (S.timer) clearTimeout(S.timer);
    S.timer = 0;
  }
  function detach() {
    stop();
    if (S.observer) S.observer.disconnect();
    S.observer = null;
    S.el = null;
  }
  // `ms`: the app clock now. Date.now() + skew is the app clock from here on.
  function anchor(ms) {
    S.skew = ms - Date.now();
    S.period = num("data-period");
    S.t0 = num("data-t0") || 0;
    S.ending = num("data-ending") || 0;
    S.before = S.el.getAttribute("data-text-before") || "";
    S.after = S.el.getAttribute("data-text-after") || "";
    S.shown = 0;
  }
  function show(left) {
    if (left === S.shown) return;
    S.shown = left;
    var el = S.el;
    var seconds = el.querySelector(".seconds");
    var node = seconds && seconds.firstChild;
    if (node && node.nodeType === 3) node.nodeValue = S.before + left + S.after;
    var ring = el.querySelector(".ring-fg");
    if (ring) ring.setAttribute("stroke-dashoffset", (100 - (100 * left) / S.period).toFixed(1));
    var ending = left <= S.ending;
    if (el.classList.contains("urgent") !== ending) el.classList.toggle("urgent", ending);
    var next = document.getElementById("next-code-box");
    if (next && next.hidden === ending) next.hidden = !ending;
  }
  function tick() {
    S.timer = 0;
    if (!S.el || !S.el.isConnected || !(S.period > 0)) {
      detach();
      return;
    }
    var now = Date.now() + S.skew;
    var secs = Math.floor(now / 1000);
    var p = S.period;
    // Seconds left in the step, 1..=period, as Params::seconds_left.
    show(p - ((((secs - S.t0) % p) + p) % p));
    S.timer = setTimeout(tick, 1000 - (((now % 1000) + 1000) % 1000) + 2);
  }

  var el = document.getElementById("countdown");
  if (!el) {
    detach();
    return;
  }
  if (el !== S.el) {
    detach();
    S.el = el;
    S.observer = new MutationObserver(function (records) {
      // A new clock reading re-anchors the clock; other attributes alone
      // (a language switch) keep it.
      var fresh = records.some(function (r) { return r.attributeName === "data-clock-ms"; });
      var ms = num("data-clock-ms");
      anchor(fresh && isFinite(ms) ? ms : Date.now() + S.skew);
      stop();
      tick();
    });
    S.observer.observe(el, { attributes: true, attributeFilter: ANCHOR });
  }
  var at = typeof clockMs === "number" ? clockMs : num("data-clock-ms");
  anchor(isFinite(at) ? at : Date.now());
  stop();
  tick();
})
