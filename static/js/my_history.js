// The patient's temperature chart: readings over time with the fever line. The server sends only the window chosen
// with the page's range links ({"x": ms, "y": °C}), with a point of y null where readings are further apart than the
// reminders asked for: with spanGaps off the line breaks there, never bridging days without a reading. The words
// come from the "temperature-labels" block, translated by the server.
(function () {
  const points = JSON.parse(document.getElementById("temperature-data").textContent);
  const fever = JSON.parse(document.getElementById("fever-line").textContent);
  const words = JSON.parse(document.getElementById("temperature-labels").textContent);
  const xs = points.map((p) => p.x);
  const fmt = new Intl.DateTimeFormat(document.documentElement.lang || undefined, { day: "numeric", month: "short" });
  new Chart(document.getElementById("temperature-chart"), {
    type: "line",
    data: {
      datasets: [
        { label: words.temperature, data: points, borderColor: "#0d6efd", backgroundColor: "#0d6efd", tension: 0.2, spanGaps: false },
        {
          label: words.fever,
          data: [{ x: Math.min(...xs), y: fever }, { x: Math.max(...xs), y: fever }],
          borderColor: "#dc3545", borderDash: [6, 4], pointRadius: 0,
        },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        x: { type: "linear", ticks: { callback: (v) => fmt.format(new Date(v)), maxTicksLimit: 6 } },
        y: { suggestedMin: 36, suggestedMax: 39.5, title: { display: true, text: "°C" } },
      },
      plugins: { legend: { position: "bottom" } },
    },
  });
})();
