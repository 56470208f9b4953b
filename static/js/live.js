// Live feed: joins /ws/dashboard/ and prepends each event to every [data-live-feed] list.
// On (re)connect the server sends the community's last events first: the page shows what
// happened before it loaded or while it was disconnected, each event once (by id).
(function () {
  const feeds = document.querySelectorAll("[data-live-feed]");
  if (!feeds.length) return;
  const community = feeds[0].dataset.community || "";
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const seen = new Set();
  const STOP = new Set([4401, 4403, 4404]);  // logged out, role removed, no such community
  let delay = 1000;
  function describe(msg) {
    const d = msg.data || {};
    return d.text || msg.kind;
  }
  function show(msg) {
    if (msg.id) {
      if (seen.has(msg.id)) return false;
      seen.add(msg.id);
    }
    const when = msg.ts ? new Date(msg.ts * 1000) : new Date();
    feeds.forEach((ul) => {
      ul.querySelectorAll("li.muted").forEach((li) => li.remove());
      const li = document.createElement("li");
      li.textContent = when.toLocaleTimeString() + " · " + describe(msg);  // textContent: never HTML
      li.dataset.kind = msg.kind;
      if (msg.id) li.dataset.id = msg.id;
      ul.prepend(li);
      while (ul.children.length > 100) ul.lastChild.remove();
    });
    return true;
  }
  function connect() {
    const ws = new WebSocket(scheme + location.host + "/ws/dashboard/?community=" + encodeURIComponent(community));
    ws.onopen = () => { delay = 1000; document.body.dataset.live = "connected"; };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "history") {
        (msg.events || []).forEach(show);  // oldest first, so the newest ends on top
        document.body.dataset.liveHistory = "loaded";
        return;
      }
      if (msg.type !== "event") return;
      if (show(msg)) document.dispatchEvent(new CustomEvent("kickbot:live", { detail: msg }));
    };
    ws.onclose = (ev) => {
      document.body.dataset.live = "disconnected";
      if (STOP.has(ev.code)) return;  // reconnecting would be refused again
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
