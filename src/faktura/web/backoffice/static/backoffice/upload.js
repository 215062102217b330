// The statement upload: while the file goes up and is read, say so and block a second
// submit. What happens after (booking by the worker) the import page shows, polled by htmx.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-upload]");
  if (!form) return;
  const note = form.querySelector("[data-uploading]");
  if (note) note.hidden = false;
  form.querySelectorAll("button").forEach((button) => { button.disabled = true; });
});
