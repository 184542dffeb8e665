// PM Assistant: small progressive enhancements. Every form works without
// this file; it only adds confirmations, copy buttons, the "/" shortcut,
// auto-submitting selects, live job status and search as you type.
(function () {
  "use strict";

  // Destructive forms carry data-confirm="question".
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Copy buttons: data-copy is the id of the element whose value (or text)
  // is copied. They are hidden in the HTML and shown only when JS runs.
  function copyFrom(button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target) {
      return;
    }
    var text = "value" in target ? target.value : target.textContent;
    var label = button.textContent;
    function done(ok) {
      button.textContent = ok ? "Copied" : "Press Ctrl+C to copy";
      window.setTimeout(function () { button.textContent = label; }, 2000);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
      return;
    }
    if (target.select) {
      target.focus();
      target.select();
    }
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    done(ok);
  }

  // "/" focuses the search box, unless the user is typing somewhere.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var el = document.activeElement;
    var tag = el && el.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (el && el.isContentEditable)) {
      return;
    }
    var search = document.getElementById("search");
    if (search) {
      event.preventDefault();
      search.focus();
    }
  });

  // Job status: an element with data-job-id is a queued or running job. It
  // follows GET /api/v1/jobs/{id} every 3 s until the job ends, updating the
  // parts it holds: [data-job-status] (its class prefix as the value, e.g.
  // "badge" for badge-ok; a .dot and a [data-job-label] inside),
  // [data-job-new], [data-job-updated], [data-job-duration], [data-job-error],
  // [data-job-when] and the optional [data-job-counts] and
  // [data-job-updated-wrap]. Without JS the page shows the state it was
  // rendered with; a reload shows the rest.
  var jobKinds = { succeeded: "ok", partial: "warn", queued: "warn", running: "warn", failed: "error" };
  var kindNames = ["ok", "warn", "error", "neutral"];
  var jobEnded = { succeeded: true, partial: true, failed: true };
  var pollMs = 3000;
  var stopPolling = {};

  function setKind(el, prefix, kind) {
    kindNames.forEach(function (k) { el.classList.remove(prefix + "-" + k); });
    el.classList.add(prefix + "-" + kind);
  }

  function count(n) {
    return (Number(n) || 0).toLocaleString("en-US");
  }

  // formatDuration mirrors formatDuration in ui/jobs.go.
  function formatDuration(ms) {
    if (isNaN(ms)) {
      return "—";
    }
    var s = Math.floor(Math.max(ms, 0) / 1000);
    if (s < 1) {
      return "under 1 s";
    }
    if (s < 60) {
      return s + " s";
    }
    if (s < 3600) {
      return Math.floor(s / 60) + " min" + (s % 60 ? " " + (s % 60) + " s" : "");
    }
    var m = Math.floor(s / 60) % 60;
    return Math.floor(s / 3600) + " h" + (m ? " " + m + " min" : "");
  }

  function jobDuration(job) {
    if (!job.finished_at) {
      if (job.started_at || job.status === "running") {
        return "running…";
      }
      return job.status === "queued" ? "waiting…" : "—";
    }
    if (!job.started_at) {
      return "—";
    }
    return formatDuration(Date.parse(job.finished_at) - Date.parse(job.started_at));
  }

  function each(root, selector, fn) {
    root.querySelectorAll(selector).forEach(fn);
  }

  function showJob(el, job) {
    var status = String(job.status || "unknown");
    var kind = jobKinds[status] || "neutral";
    var updated = Number(job.items_updated) || 0;
    var hasCounts = Boolean(job.finished_at) || Number(job.items_new) > 0 || updated > 0;
    each(el, "[data-job-status]", function (badge) {
      setKind(badge, badge.getAttribute("data-job-status"), kind);
      each(badge, ".dot", function (dot) { setKind(dot, "dot", kind); });
      each(badge, "[data-job-label]", function (label) {
        if (label.textContent !== status) {
          label.textContent = status;
        }
      });
    });
    each(el, "[data-job-new]", function (n) { n.textContent = count(job.items_new); });
    each(el, "[data-job-updated]", function (n) { n.textContent = count(updated); });
    each(el, "[data-job-updated-wrap]", function (w) { w.hidden = updated === 0; });
    each(el, "[data-job-counts]", function (c) { c.hidden = !hasCounts; });
    each(el, "[data-job-duration]", function (d) { d.textContent = jobDuration(job); });
    each(el, "[data-job-error]", function (e) {
      e.textContent = job.error || "";
      if (e.tagName !== "TD") {
        e.hidden = !job.error;
      }
    });
    var at = job.finished_at || job.started_at || job.created_at;
    if (at && !isNaN(Date.parse(at))) {
      each(el, "[data-job-when]", function (w) {
        var time = document.createElement("time");
        time.dateTime = at;
        time.title = at;
        time.textContent = relTime(Date.parse(at));
        w.replaceChildren(time);
      });
    }
  }

  // relTime mirrors relTime in ui/funcs.go for the recent past.
  function relTime(t) {
    var s = Math.floor((Date.now() - t) / 1000);
    if (s < 60) {
      return "just now";
    }
    if (s < 3600) {
      return Math.floor(s / 60) + " min ago";
    }
    if (s < 86400) {
      return Math.floor(s / 3600) + " h ago";
    }
    var d = Math.floor(s / 86400);
    return d + (d === 1 ? " day ago" : " days ago");
  }

  function pollJob(el) {
    var id = el.getAttribute("data-job-id");
    var failures = 0;
    function schedule() {
      window.setTimeout(tick, pollMs);
    }
    function tick() {
      if (document.hidden) {
        schedule();
        return;
      }
      fetch("/api/v1/jobs/" + encodeURIComponent(id), {
        credentials: "same-origin",
        cache: "no-store",
        headers: { "Accept": "application/json" }
      }).then(function (res) {
        if (res.status === 401 || res.status === 403 || res.status === 404) {
          throw stopPolling;
        }
        if (!res.ok) {
          throw new Error("HTTP " + res.status);
        }
        return res.json();
      }).then(function (job) {
        if (!job || typeof job !== "object" || job.id !== id) {
          throw new Error("unexpected answer");
        }
        failures = 0;
        showJob(el, job);
        if (jobEnded[job.status]) {
          el.removeAttribute("data-job-id");
          return;
        }
        schedule();
      }).catch(function (err) {
        failures += 1;
        if (err !== stopPolling && failures < 5) {
          schedule();
        }
      });
    }
    schedule();
  }

  // Search as you type: a GET form with data-live-search fetches its own
  // page for the current values 300 ms after the last change and swaps in
  // the parts marked data-search-live (the results and the error next to
  // the box), matched by id; the URL follows with history.replaceState.
  // Without JS, or when a fetch fails, the form is an ordinary GET form:
  // Enter or the Search button load the same page.
  var searchDelayMs = 300;

  function liveSearch(form) {
    var input = form.querySelector("#search");
    if (!input || !window.DOMParser || !window.URLSearchParams || !window.FormData ||
        !(window.history && window.history.replaceState)) {
      return;
    }
    var timer = 0;
    var seq = 0;
    var controller = null;
    var shown = location.pathname + location.search;

    function target() {
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, key) {
        if (typeof value === "string" && value.trim() !== "") {
          params.append(key, value);
        }
      });
      var query = params.toString();
      var action = new URL(form.getAttribute("action") || location.pathname, location.href);
      return action.pathname + (query ? "?" + query : "");
    }

    function setBusy(busy) {
      form.ownerDocument.querySelectorAll("[data-search-live]").forEach(function (el) {
        if (busy) {
          el.setAttribute("aria-busy", "true");
        } else {
          el.removeAttribute("aria-busy");
        }
      });
    }

    function swap(html, url) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.querySelectorAll("[data-search-live][id]");
      if (!fresh.length) {
        return false;
      }
      fresh.forEach(function (el) {
        var old = document.getElementById(el.id);
        if (old) {
          old.replaceWith(document.importNode(el, true));
        }
      });
      // The box's error state follows the new page.
      var box = doc.getElementById("search");
      if (box) {
        ["aria-invalid", "aria-describedby"].forEach(function (name) {
          if (box.hasAttribute(name)) {
            input.setAttribute(name, box.getAttribute(name));
          } else {
            input.removeAttribute(name);
          }
        });
        var bar = input.closest(".search-bar");
        var freshBar = box.closest(".search-bar");
        if (bar && freshBar) {
          bar.classList.toggle("has-error", freshBar.classList.contains("has-error"));
        }
      }
      // One short line for screen readers: the count, "No results", the
      // error or the index notice, not the whole list.
      var announce = document.getElementById("search-announce");
      var summary = doc.querySelector("[data-search-summary], #search-error");
      if (announce) {
        announce.textContent = summary ? summary.textContent.replace(/\s+/g, " ").trim() : "";
      }
      window.history.replaceState(null, "", url);
      shown = url;
      return true;
    }

    function run() {
      var url = target();
      if (url === shown) {
        return;
      }
      var mine = ++seq;
      if (controller) {
        controller.abort();
      }
      controller = window.AbortController ? new AbortController() : null;
      setBusy(true);
      fetch(url, {
        credentials: "same-origin",
        headers: { "Accept": "text/html" },
        signal: controller ? controller.signal : undefined
      }).then(function (res) {
        var type = res.headers.get("Content-Type") || "";
        // A 400 (malformed query) or 503 (index building) page still
        // carries the message to show; a redirect elsewhere (signed out)
        // does not, and is left to the next full page load.
        if (type.indexOf("text/html") !== 0 || (res.redirected && new URL(res.url).pathname !== new URL(url, location.href).pathname)) {
          throw new Error("not the search page");
        }
        return res.text();
      }).then(function (html) {
        if (mine === seq) {
          swap(html, url);
          setBusy(false);
        }
      }).catch(function () {
        if (mine === seq) {
          setBusy(false);
        }
      });
    }

    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(run, searchDelayMs);
    }

    form.addEventListener("input", function (event) {
      var el = event.target;
      if (el.tagName === "INPUT" && (el.type === "search" || el.type === "text")) {
        later();
      }
    });
    form.addEventListener("change", function (event) {
      var el = event.target;
      if (el.tagName === "SELECT" || el.type === "date") {
        later();
      }
    });
  }

  function init() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { copyFrom(button); });
    });
    if (window.fetch) {
      document.querySelectorAll("[data-job-id]").forEach(pollJob);
    }
    if (window.fetch) {
      document.querySelectorAll("form[data-live-search]").forEach(liveSearch);
    }
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      var form = select.form;
      if (!form) {
        return;
      }
      form.querySelectorAll("[data-js-hide]").forEach(function (el) { el.hidden = true; });
      select.addEventListener("change", function () {
        if (form.requestSubmit) {
          form.requestSubmit();
        } else {
          form.submit();
        }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
