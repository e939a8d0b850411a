// The only scripts of the web view: copying a citation and switching the diff's layout.
// Everything reads without them.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      const status = button.parentElement.querySelector(".copied");
      try {
        await navigator.clipboard.writeText(source.textContent);
        if (status) status.textContent = "Copied.";
      } catch (error) {
        const range = document.createRange();
        range.selectNodeContents(source);
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
        if (status) status.textContent = "Selected: press Ctrl+C to copy.";
      }
    });
  }
  for (const button of document.querySelectorAll("button.toggle")) {
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", () => {
      const target = document.getElementById(button.dataset.target);
      const on = target.classList.toggle(button.dataset.class);
      button.setAttribute("aria-pressed", String(on));
    });
  }
});
