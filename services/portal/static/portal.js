// The portal's own behaviour. No inline scripts anywhere (the Content-Security-Policy forbids
// them): pages mark elements with data- attributes and this file gives them life.
"use strict";

function csrfToken() {
  const field = document.querySelector("input[name=csrf_token]");
  return field ? field.value : "";
}

// A one-time token in the link's fragment (#token=...), which no server ever saw, goes into
// the form that needs it; the address bar forgets it at once.
function takeTokenFromFragment() {
  const form = document.querySelector("form[data-token-from-fragment]");
  if (!form) return;
  const match = /[#&]token=([^&]+)/.exec(window.location.hash);
  if (match) {
    form.querySelector("input[name=token]").value = decodeURIComponent(match[1]);
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
}

// Buttons that ask before doing something that cannot be undone.
function confirmations() {
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });
}

// "12 / 50" under a text box that needs a minimum length, so nobody learns it on submit.
function counters() {
  for (const box of document.querySelectorAll("textarea[data-min-length]:not([data-counted])")) {
    box.dataset.counted = "1";
    const out = document.getElementById(box.dataset.counter);
    const min = Number(box.dataset.minLength);
    const show = () => {
      const n = [...box.value.trim()].length;
      out.textContent = `${n} / ${min}`;
      out.classList.toggle("error", n < min);
    };
    box.addEventListener("input", show);
    show();
  }
}

// Uploads with a progress bar; type and size checked before a byte is sent.
function uploads() {
  for (const form of document.querySelectorAll("form[data-upload]")) {
    const input = form.querySelector("input[type=file]");
    const bar = form.querySelector("progress");
    const status = form.querySelector("[data-upload-status]");
    const maxBytes = Number(form.dataset.maxBytes || 0);
    const allowed = (input.accept || "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const file = input.files[0];
      if (!file) return;
      const dot = file.name.lastIndexOf(".");
      const ext = dot >= 0 ? file.name.slice(dot).toLowerCase() : "";
      if (allowed.length && !allowed.includes(ext)) {
        status.textContent = form.dataset.badType;
        status.className = "error";
        return;
      }
      if (maxBytes && file.size > maxBytes) {
        status.textContent = form.dataset.tooLarge;
        status.className = "error";
        return;
      }
      const request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("X-CSRF-Token", csrfToken());
      request.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
      });
      request.addEventListener("load", () => {
        if (request.status < 300) {
          bar.value = 100;
          window.location.reload();
        } else {
          let message = request.statusText;
          try {
            const problem = JSON.parse(request.responseText);
            message = problem.detail || problem.title || message;
          } catch (_) { /* not problem+json */ }
          status.textContent = message;
          status.className = "error";
        }
      });
      request.addEventListener("error", () => {
        status.textContent = form.dataset.failed;
        status.className = "error";
      });
      bar.hidden = false;
      bar.value = 0;
      request.send(new FormData(form));
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  takeTokenFromFragment();
  confirmations();
  counters();
  uploads();
});
document.addEventListener("htmx:afterSettle", counters);
// The link pasted into the tab that already shows the reset page changes only the fragment:
// no page load follows, so the token is taken when the fragment changes too.
window.addEventListener("hashchange", takeTokenFromFragment);

// The draft editor. An autosave answered 4xx still carries the messages to show next to the
// fields (problem+json put into the page by the server), so htmx swaps it in like a success.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  const source = event.detail.elt;
  if (status >= 400 && status < 500 && source && source.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// A field's message came or went: its input says so to assistive technology and shows it.
function errorSlots() {
  for (const slot of document.querySelectorAll("[data-error-slot]")) {
    const bad = slot.textContent.trim() !== "";
    const input = document.getElementById(slot.dataset.errorSlot);
    if (input) {
      if (bad) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
    if (slot.parentElement) slot.parentElement.classList.toggle("invalid", bad);
  }
}
document.addEventListener("htmx:afterSettle", errorSlots);

// "Add a row" to a repeated section: a copy of its <template>, numbered after the last row.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-add-row]");
  if (!button) return;
  const body = document.getElementById(button.dataset.addRow);
  const template = document.getElementById(button.dataset.template);
  const index = body.rows.length;
  body.insertAdjacentHTML(
    "beforeend",
    template.innerHTML.replaceAll("__i__", String(index)).replaceAll("__n__", String(index + 1)),
  );
  body.rows[index].querySelector("input").focus();
});

// An autosave that got no answer it could show (the network, a 5xx) says so where "saved" was.
for (const failure of ["htmx:responseError", "htmx:sendError"]) {
  document.addEventListener(failure, (event) => {
    const form = event.detail.elt && event.detail.elt.closest("[data-save-failed]");
    const status = form && form.querySelector("[role=status]");
    if (!status) return;
    status.textContent = form.dataset.saveFailed;
    status.className = "error";
  });
}

// Decisions within the envelope: what would remain if the approvals chosen on the page were
// saved, recomputed as the manager types (the API refuses a batch beyond the envelope anyway).
function envelopeAfter() {
  const facts = document.querySelector("[data-envelope-remaining]");
  const out = document.getElementById("envelope-after");
  if (!facts || !out) return;
  const remaining = BigInt(facts.dataset.envelopeRemaining);
  const fen = (typed) => {
    const match = /^\s*(\d[\d,]*)(?:\.(\d{1,2}))?\s*$/.exec(typed || "");
    if (!match) return 0n;
    return BigInt(match[1].replace(/,/g, "")) * 100n + BigInt((match[2] || "0").padEnd(2, "0"));
  };
  const yuan = (amount) => {
    const sign = amount < 0n ? "-" : "";
    const abs = amount < 0n ? -amount : amount;
    const whole = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return `${sign}${whole}.${(abs % 100n).toString().padStart(2, "0")}`;
  };
  const update = () => {
    let approved = 0n;
    for (const select of document.querySelectorAll("select[data-decision-for]")) {
      if (select.value !== "approve") continue;
      const amount = document.querySelector(`[data-approve-amount="${select.dataset.decisionFor}"]`);
      approved += fen(amount && amount.value);
    }
    const left = remaining - approved;
    out.textContent = yuan(left);
    out.classList.toggle("error", left < 0n);
  };
  document.addEventListener("input", update);
  document.addEventListener("change", update);
  update();
}

document.addEventListener("DOMContentLoaded", envelopeAfter);
