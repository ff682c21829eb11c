// Sync Returns: start a pull without leaving the page and show its live progress (server-sent events).
//
// Markup (templates/sync_button.html and sync_progress.html):
//   <form method="post" action="/sync" data-sync-form [data-sync-target="id of an element holding the panel"]>
//     csrf field, optional <input name="account_id">, a submit button
//   </form>
//   <div data-sync-progress [data-sync-events="/sync/7/events"] hidden> progress bar, status, shops, summary </div>
// The panel used is the one inside data-sync-target, else the one next to the form in its [data-sync] wrapper.
// A panel with data-sync-events follows that run as soon as the page loads (the summary page uses that).
// From other scripts: window.returnbridge.sync.start(form) and window.returnbridge.sync.follow(panel, url).
(function () {
  "use strict";

  function part(panel, name) {
    return panel.querySelector("[data-sync-" + name + "]");
  }

  function plural(count, word) {
    return count + " " + word + (count === 1 ? "" : "s");
  }

  function show(panel, data) {
    panel.hidden = false;
    var bar = part(panel, "bar");
    if (data.percent === null || data.percent === undefined) {
      bar.removeAttribute("value"); // indeterminate until TikTok announces a total
    } else {
      bar.value = data.percent;
    }
    var status = part(panel, "status");
    var count = data.total ? data.received + " of " + data.total : String(data.received);
    status.textContent = "Syncing… " + count + " records received (" + data.seconds + " s)";
    var list = part(panel, "shops");
    list.textContent = "";
    (data.shops || []).forEach(function (shop) {
      var item = document.createElement("li");
      var text = shop.name + ": " + shop.state + ", " + shop.received + " received";
      if (shop.state === "done") {
        text += ", " + plural(shop.created, "new case");
      }
      if (shop.error) {
        text += " (" + shop.error + ")";
      }
      item.textContent = text;
      list.appendChild(item);
    });
  }

  function finish(panel, data, summaryUrl) {
    show(panel, data);
    var bar = part(panel, "bar");
    bar.value = data.state === "done" ? 100 : (data.percent || 0);
    var status = part(panel, "status");
    status.textContent = data.state === "done" ? "Sync finished." : "Sync finished with problems.";
    var summary = part(panel, "summary");
    summary.hidden = false;
    summary.classList.toggle("failed", data.state !== "done");
    summary.textContent = plural(data.received, "record") + " received, " + plural(data.created, "new case") +
      " in " + data.seconds + " s" + (data.error ? ". " + data.error : ".") + " ";
    var link = document.createElement("a");
    link.href = summaryUrl;
    link.textContent = "Details";
    summary.appendChild(link);
    panel.removeAttribute("data-sync-running");
    var form = panel.syncForm;
    if (form) {
      form.querySelectorAll("button").forEach(function (button) { button.disabled = false; });
    }
  }

  function follow(panel, eventsUrl) {
    if (panel.syncSource) {
      panel.syncSource.close();
    }
    var summaryUrl = eventsUrl.replace(/\/events$/, "");
    panel.setAttribute("data-sync-running", "");
    part(panel, "summary").hidden = true;
    panel.hidden = false;
    var source = new EventSource(eventsUrl);
    panel.syncSource = source;
    source.addEventListener("progress", function (event) {
      show(panel, JSON.parse(event.data));
    });
    source.addEventListener("summary", function (event) {
      source.close();
      finish(panel, JSON.parse(event.data), summaryUrl);
    });
    source.onerror = function () {
      // The stream ended or the network dropped: EventSource reconnects by itself unless closed.
      if (source.readyState === EventSource.CLOSED) {
        part(panel, "status").textContent = "Lost the progress stream; the sync carries on. Reload to see it.";
      }
    };
  }

  function panelFor(form) {
    var target = form.getAttribute("data-sync-target");
    var holder = target ? document.getElementById(target) : form.closest("[data-sync]");
    return holder ? holder.querySelector("[data-sync-progress]") : null;
  }

  function start(form) {
    var panel = panelFor(form);
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (button) { button.disabled = true; });
    return window.returnbridge.fetch(form.action, { method: "POST", body: new FormData(form) })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (answer) {
        if (!answer.ok) {
          throw new Error(answer.body.detail || "The sync could not start.");
        }
        if (!panel) {
          window.location.assign(answer.body.summary_url);
          return answer.body;
        }
        panel.syncForm = form;
        follow(panel, answer.body.events_url);
        if (answer.body.reused) {
          part(panel, "status").textContent = "A sync of these shops is already running; showing its progress.";
        }
        return answer.body;
      })
      .catch(function (error) {
        buttons.forEach(function (button) { button.disabled = false; });
        if (panel) {
          panel.hidden = false;
          part(panel, "status").textContent = error.message;
        } else {
          window.alert(error.message);
        }
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-sync-form]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        start(form);
      });
    });
    document.querySelectorAll("[data-sync-progress][data-sync-events]").forEach(function (panel) {
      follow(panel, panel.getAttribute("data-sync-events"));
    });
  });

  window.returnbridge = window.returnbridge || {};
  window.returnbridge.sync = { start: start, follow: follow };
})();
