// Asks before a form is sent when the form, or the button that sent it, has data-confirm="question".
// Inline handlers (onsubmit="return confirm(...)") are forbidden by the Content-Security-Policy.
document.addEventListener(
  "submit",
  (event) => {
    const button = event.submitter;
    const question = (button && button.dataset.confirm) || event.target.dataset.confirm;
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  },
  true,
);
