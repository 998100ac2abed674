// The patient's temperature chart: readings over time with the fever line.
(function () {
  const points = JSON.parse(document.getElementById("temperature-data").textContent);
  const fever = JSON.parse(document.getElementById("fever-line").textContent);
  const data = points.map((p) => ({ x: Date.parse(p.t), y: p.y }));
  const xs = data.map((p) => p.x);
  const fmt = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
  new Chart(document.getElementById("temperature-chart"), {
    type: "line",
    data: {
      datasets: [
        { label: "Temperature (°C)", data: data, borderColor: "#0d6efd", backgroundColor: "#0d6efd", tension: 0.2 },
        {
          label: `Fever (${fever} °C)`,
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
