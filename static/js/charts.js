// Charts: every <canvas data-chart="ID"> is drawn from the JSON in <script id="ID"> (json_script).
(function () {
  if (typeof Chart === "undefined") return;
  const palette = ["#53fc18", "#4dabf7", "#ffb84d", "#ff5d5d", "#c084fc"];
  Chart.defaults.color = "#9aa3b2";
  Chart.defaults.borderColor = "#2a2f3a";
  window.kickbotCharts = [];
  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source) return;
    const data = JSON.parse(source.textContent);
    const type = canvas.dataset.type || "bar";
    const stacked = canvas.dataset.stacked === "1";
    const chart = new Chart(canvas, {
      type: type,
      data: {
        labels: data.labels,
        datasets: data.datasets.map((d, i) => ({
          label: d.label, data: d.data, borderColor: palette[i % palette.length],
          backgroundColor: palette[i % palette.length] + (type === "line" ? "33" : "cc"),
          fill: type === "line", tension: 0.25, pointRadius: 0, borderWidth: type === "line" ? 2 : 0,
        })),
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: data.datasets.length > 1 } },
        scales: { x: { stacked: stacked, ticks: { maxTicksLimit: 8, autoSkip: true } },
                  y: { stacked: stacked, beginAtZero: true } },
      },
    });
    canvas.dataset.ready = "1";
    window.kickbotCharts.push(chart);
  });
})();
