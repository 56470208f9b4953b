// Live feed: joins /ws/dashboard/ and prepends each event to every [data-live-feed] list.
(function () {
  const feeds = document.querySelectorAll("[data-live-feed]");
  if (!feeds.length) return;
  const community = feeds[0].dataset.community || "";
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  let delay = 1000;
  function describe(msg) {
    const d = msg.data || {};
    return d.text || msg.kind;
  }
  function connect() {
    const ws = new WebSocket(scheme + location.host + "/ws/dashboard/?community=" + encodeURIComponent(community));
    ws.onopen = () => { delay = 1000; document.body.dataset.live = "connected"; };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type !== "event") return;
      feeds.forEach((ul) => {
        const li = document.createElement("li");
        li.textContent = new Date().toLocaleTimeString() + " · " + describe(msg);  // textContent: never HTML
        li.dataset.kind = msg.kind;
        ul.prepend(li);
        while (ul.children.length > 100) ul.lastChild.remove();
      });
      document.dispatchEvent(new CustomEvent("kickbot:live", { detail: msg }));
    };
    ws.onclose = () => {
      document.body.dataset.live = "disconnected";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
