// Re-fetch [data-refresh-url] blocks (htmx) when the live feed reports an event of their kind,
// so the slot queue and the GTB guess list follow chat without a reload.
document.addEventListener("kickbot:live", function (ev) {
  if (typeof htmx === "undefined") return;
  const kind = (ev.detail && ev.detail.kind) || "";
  document.querySelectorAll("[data-refresh-url]").forEach(function (el) {
    const wanted = el.dataset.refreshKinds || "slots";
    if (!wanted.split(",").some(function (k) { return kind.indexOf(k) === 0; })) return;
    htmx.ajax("GET", el.dataset.refreshUrl, { target: "#" + el.id, swap: "outerHTML" });
  });
});
