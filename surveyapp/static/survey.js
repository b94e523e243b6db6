// Survey page enhancements. Everything works without this script; with it, answers are saved
// on every change (not only on "Save and continue"), comments show a live character count,
// and the submit button cannot be pressed twice.
(function () {
  "use strict";

  var form = document.querySelector("form[data-autosave]");
  var status = document.querySelector("[data-save-status]");

  function say(text) {
    if (status) { status.textContent = text; }
  }

  if (form && window.fetch && window.FormData) {
    var timer = null;
    var inFlight = false;
    var again = false;

    var save = function () {
      if (inFlight) { again = true; return; }
      inFlight = true;
      var data = new FormData(form);
      fetch(form.getAttribute("action"), {
        method: "POST",
        body: data,
        headers: { "X-Autosave": "1" },
        credentials: "same-origin",
        keepalive: true
      }).then(function (response) {
        say(response.ok ? "Your answers are saved." : "Your answers could not be saved just now. They will be saved when you continue.");
      }).catch(function () {
        say("You seem to be offline. Your answers will be saved when you continue.");
      }).then(function () {
        inFlight = false;
        if (again) { again = false; save(); }
      });
    };

    form.addEventListener("change", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(save, 150);
    });
    form.addEventListener("input", function (event) {
      if (event.target.tagName === "TEXTAREA") {
        window.clearTimeout(timer);
        timer = window.setTimeout(save, 1500);
      }
    });
  }

  // Live character counts for comments.
  Array.prototype.forEach.call(document.querySelectorAll("[data-count-for]"), function (counter) {
    var field = document.getElementById(counter.getAttribute("data-count-for"));
    var max = parseInt(counter.getAttribute("data-max"), 10);
    if (!field || !max) { return; }
    var last = null;
    var update = function () {
      var left = max - field.value.length;
      var text = left >= 0
        ? "You have " + left.toLocaleString("en-GB") + " character" + (left === 1 ? "" : "s") + " remaining."
        : "You have " + (-left).toLocaleString("en-GB") + " character" + (left === -1 ? "" : "s") + " too many.";
      if (text !== last) {
        counter.textContent = text;
        counter.classList.toggle("char-count--over", left < 0);
        last = text;
      }
    };
    counter.setAttribute("aria-live", "polite");
    field.addEventListener("input", update);
    update();
  });

  // One submit only: a double click sends one request (the server also stores only one).
  Array.prototype.forEach.call(document.querySelectorAll("form[data-submit-once]"), function (f) {
    f.addEventListener("submit", function (event) {
      if (f.getAttribute("data-submitting")) { event.preventDefault(); return; }
      f.setAttribute("data-submitting", "1");
      var button = f.querySelector("button[type=submit]");
      if (button) { button.setAttribute("aria-disabled", "true"); button.textContent = "Submitting…"; }
    });
  });
})();
