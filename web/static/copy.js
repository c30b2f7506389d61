// Copy buttons: <button data-copy="#input-id" data-copied="Copied">. The clipboard is something htmx cannot do.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.querySelector(button.dataset.copy);
  if (!field) return;
  field.select();
  try {
    await navigator.clipboard.writeText(field.value);
  } catch {
    document.execCommand("copy");
  }
  const label = button.textContent;
  button.textContent = button.dataset.copied || label;
  setTimeout(() => { button.textContent = label; }, 2000);
});
