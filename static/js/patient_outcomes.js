// The EDSS course since the transplant (patient_outcomes.html): a step chart, x = months from Day 0, y = EDSS 0-10,
// with the baseline, the progression threshold (both computed by the server from the centre's configuration) and
// relapses marked. Data comes from the page's json_script block "edss-chart-data": only the window chosen with the
// page's range links, with a point of y null where no assessment was taken for longer than the expected interval,
// so the step line is not carried on across it (spanGaps off). Every word drawn is in data.labels, translated by
// the server. No animation.
(function () {
  const source = document.getElementById("edss-chart-data");
  const canvas = document.getElementById("edss-chart");
  if (!source || !canvas || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const words = data.labels;
  // All: room for the baseline assessment before Day 0 and whole half-years; a window: its own bounds
  const xMin = data.fixed_x ? data.x_min : Math.min(-1, Math.floor(data.x_min) - 1);
  const xMax = data.fixed_x ? data.x_max : Math.ceil(data.x_max / 6) * 6 || 6;
  const span = xMax - xMin;
  const stepSize = span <= 6 ? 1 : span <= 36 ? 3 : span <= 84 ? 6 : span <= 180 ? 12 : 24;
  const BLUE = "#0d6efd";
  const GREY = "#6c757d";
  const RED = "#dc3545";
  const level = (y) => [{ x: xMin, y: y }, { x: xMax, y: y }];

  const datasets = [
    {
      label: words.edss,
      data: data.points,
      stepped: true, // a score holds until the next assessment ...
      spanGaps: false, // ... but not across a gap longer than the expected interval (a null point)
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
      label: words.baseline,
      data: level(data.baseline),
      borderColor: GREY, borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, pointHoverRadius: 0, pointStyle: "line",
      order: 3,
    });
  }
  if (data.threshold !== null && data.threshold <= 10) {
    datasets.push({
      label: words.threshold,
      data: level(data.threshold),
      borderColor: RED, borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, pointHoverRadius: 0, pointStyle: "line",
      order: 3,
    });
  }
  if (data.relapses.length) {
    datasets.push({
      type: "scatter",
      label: words.relapse,
      isRelapse: true,
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
    label: words.day0,
    data: [{ x: 0, y: 0 }, { x: 0, y: 10 }],
    borderColor: "#adb5bd", borderWidth: 1, borderDash: [2, 3], pointRadius: 0, pointHoverRadius: 0, order: 4,
  });

  const fixed = new Set([words.day0]);
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
          ticks: { stepSize: stepSize, callback: (v) => (v === 0 ? words.day0_tick : `${v > 0 ? "+" : ""}${v}`) },
          title: { display: true, text: words.x_axis },
          grid: { color: "rgba(0,0,0,.05)" },
        },
        y: {
          min: 0, max: 10,
          ticks: { stepSize: 1 },
          title: { display: true, text: words.edss },
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
              if (item.dataset.isRelapse) {
                return raw.pseudo ? words.pseudo : words.relapse;
              }
              const score = words.edss_value.replace("%(score)s", raw.y.toLocaleString(document.documentElement.lang || undefined, { minimumFractionDigits: 1 }));
              return raw.used === false ? `${score} (${words.not_used})` : score;
            },
          },
        },
      },
    },
  });
})();
