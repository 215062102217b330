// Behaviour shared by every back-office page; no inline handlers (Content-Security-Policy).
"use strict";

// <select data-autosubmit>: a filter that applies as soon as it is changed.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.hasAttribute("data-autosubmit") && field.form) {
    field.form.requestSubmit();
  }
});
