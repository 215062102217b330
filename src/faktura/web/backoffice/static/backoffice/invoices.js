// Rechnungen: the header checkbox selects or clears every document on the page.
// Delegated, so it keeps working after htmx swaps the table.
document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-select-all]");
  if (!all) return;
  document.querySelectorAll('#bulk input[name="ids"]').forEach((box) => {
    box.checked = all.checked;
  });
});
