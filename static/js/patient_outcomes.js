// The EDSS course since the transplant (patient_outcomes.html): a step chart, x = months from Day 0, y = EDSS 0-10,
// with the baseline, the progression threshold (both computed by the server from the centre's configuration) and
// relapses marked. Data comes from the page's json_script block "edss-chart-data". No animation.
(function () {
  const source = document.getElementById("edss-chart-data");
  const canvas = document.getElementById("edss-chart");
  if (!source || !canvas || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const xMin = Math.min(-1, Math.floor(data.x_min) - 1); // room for the baseline assessment before Day 0
  const xMax = Math.ceil(data.x_max / 6) * 6 || 6;
  const span = xMax - xMin;
  const stepSize = span <= 36 ? 3 : span <= 84 ? 6 : span <= 180 ? 12 : 24;
  const BLUE = "#0d6efd";
  const GREY = "#6c757d";
  const RED = "#dc3545";
  const level = (y) => [{ x: xMin, y: y }, { x: xMax, y: y }];

  const datasets = [
    {
      label: "EDSS",
      data: data.points,
      stepped: true, // a score holds until the next assessment
      borderColor: BLUE,
      borderWidth: 2,
      pointRadius: 4,
      pointHoverRadius: 6,
      pointBorderColor: (ctx) => (ctx.raw && ctx.raw.used === false ? GREY : BLUE),
      pointBackgroundColor: (ctx) => (ctx.raw && ctx.raw.used === false ? "#fff" : BLUE),
      order: 1,
    },
  ];
  if (data.baseline !== null) {
    datasets.push({
      label: `Baseline (${data.baseline.toFixed(1)})`,
      data: level(data.baseline),
      borderColor: GREY, borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, pointHoverRadius: 0, pointStyle: "line",
      order: 3,
    });
  }
  if (data.threshold !== null && data.threshold <= 10) {
    datasets.push({
      label: `Progression threshold (${data.threshold.toFixed(1)} = ${data.reference_label} + ${data.step})`,
      data: level(data.threshold),
      borderColor: RED, borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, pointHoverRadius: 0, pointStyle: "line",
      order: 3,
    });
  }
  if (data.relapses.length) {
    datasets.push({
      type: "scatter",
      label: "Relapse",
      data: data.relapses,
      pointStyle: "triangle",
      pointRadius: 8,
      pointHoverRadius: 10,
      borderColor: RED,
      backgroundColor: (ctx) => (ctx.raw && ctx.raw.pseudo ? "#fff" : RED),
      order: 0,
    });
  }
  datasets.push({
    label: "Day 0",
    data: [{ x: 0, y: 0 }, { x: 0, y: 10 }],
    borderColor: "#adb5bd", borderWidth: 1, borderDash: [2, 3], pointRadius: 0, pointHoverRadius: 0, order: 4,
  });

  const fixed = new Set(["Day 0"]);
  new Chart(canvas, {
    type: "line",
    data: { datasets: datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: true,
      interaction: { mode: "nearest", intersect: true },
      scales: {
        x: {
          type: "linear", min: xMin, max: xMax,
          ticks: { stepSize: stepSize, callback: (v) => (v === 0 ? "D0" : `${v > 0 ? "+" : ""}${v}`) },
          title: { display: true, text: "Months from Day 0" },
          grid: { color: "rgba(0,0,0,.05)" },
        },
        y: {
          min: 0, max: 10,
          ticks: { stepSize: 1 },
          title: { display: true, text: "EDSS" },
        },
      },
      plugins: {
        legend: {
          position: "bottom",
          labels: { usePointStyle: true, boxWidth: 14, filter: (item) => !fixed.has(item.text) },
        },
        tooltip: {
          filter: (item) => item.raw && item.raw.date !== undefined,
          callbacks: {
            title: (items) => (items.length ? items[0].raw.date : ""),
            label: (item) => {
              const raw = item.raw;
              if (item.dataset.label === "Relapse") {
                return raw.pseudo ? "Relapse (possible pseudo-relapse)" : "Relapse";
              }
              return `EDSS ${raw.y.toFixed(1)}${raw.used === false ? " (not used: close after a relapse)" : ""}`;
            },
          },
        },
      },
    },
  });
})();
