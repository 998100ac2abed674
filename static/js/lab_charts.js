// Lab charts of the labs, immune and "my immune" pages: one line chart per test, drawn from the page's json_script
// block "lab-charts-data" (a list of charts computed by the server: points, threshold lines from the centre's
// configuration, vertical markers such as Day 0 and engraftment, and event points such as transfusions). The server
// sends only the window chosen with the page's range links, and a point with y null where results are missing for
// longer than the chart's expected interval: with spanGaps off, the line breaks there. Every word drawn comes from
// the server (spec.labels and the specs' own labels), already translated.
(function () {
  const source = document.getElementById("lab-charts-data");
  if (!source || typeof Chart === "undefined") return;
  const charts = JSON.parse(source.textContent);
  const BLUE = "#0d6efd";
  const RED = "#dc3545";
  const GREY = "#adb5bd";

  charts.forEach(function (spec) {
    const canvas = document.getElementById(spec.id);
    if (!canvas || spec.empty) return;
    const xMin = spec.x_min;
    const xMax = spec.x_max;
    const words = spec.labels || {};
    const values = spec.series.flatMap((s) => s.points.map((p) => p.y)).filter((y) => y !== null);
    const thresholdValues = spec.thresholds.map((t) => t.y);
    const yMaxData = Math.max(0, ...values, ...thresholdValues);
    const datasets = spec.series.map((s) => ({
      label: s.label,
      data: s.points,
      borderColor: BLUE,
      backgroundColor: BLUE,
      borderWidth: 2,
      pointRadius: 3,
      pointHoverRadius: 5,
      pointBackgroundColor: (ctx) => (ctx.raw && ctx.raw.nd ? "#fff" : BLUE),
      tension: 0,
      spanGaps: false, // a null point is a gap in the data: never bridged by a line
      order: 1,
    }));
    spec.thresholds.forEach((t) => {
      datasets.push({
        label: t.label,
        data: [{ x: xMin, y: t.y }, { x: xMax, y: t.y }],
        borderColor: RED,
        borderDash: [6, 4],
        borderWidth: 1.5,
        pointRadius: 0,
        pointHoverRadius: 0,
        pointStyle: "line",
        order: 3,
      });
    });
    const yTop = spec.log ? undefined : yMaxData * 1.1 || 1;
    const yBottom = spec.log ? undefined : 0;
    (spec.markers || []).forEach((m) => {
      const top = spec.log ? Math.max(10, yMaxData * 2) : yTop;
      const bottom = spec.log ? 1 : 0;
      datasets.push({
        label: m.label,
        data: [{ x: m.x, y: bottom }, { x: m.x, y: top }],
        borderColor: m.color || GREY,
        borderDash: m.color ? [] : [2, 3],
        borderWidth: m.color ? 2 : 1,
        pointRadius: 0,
        pointHoverRadius: 0,
        pointStyle: "line",
        order: 4,
        isMarker: !m.color,
      });
    });
    if (spec.events && spec.events.length) {
      datasets.push({
        type: "scatter",
        label: spec.events[0].label,
        data: spec.events.map((e) => ({ x: e.x, y: spec.log ? 1 : 0, date: e.date })),
        pointStyle: "triangle",
        pointRadius: 7,
        borderColor: "#6f42c1",
        backgroundColor: "#6f42c1",
        order: 0,
      });
    }
    const span = xMax - xMin;
    new Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "nearest", intersect: true },
        scales: {
          x: {
            type: "linear",
            min: xMin,
            max: xMax,
            ticks: {
              stepSize: spec.x_step || (span <= 40 ? 5 : 10),
              callback: (v) => (v === 0 ? words.day0 : `${v > 0 ? "+" : ""}${v}`),
            },
            title: { display: true, text: spec.x_label },
            grid: { color: "rgba(0,0,0,.05)" },
          },
          y: spec.log
            ? {
                type: "logarithmic",
                min: 1,
                suggestedMax: Math.max(1000, yMaxData * 2),
                ticks: { callback: (v) => ([1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9].includes(v) ? v.toLocaleString(document.documentElement.lang || undefined) : "") },
                title: { display: true, text: spec.unit },
              }
            : { min: yBottom, suggestedMax: yTop, title: { display: true, text: spec.unit } },
        },
        plugins: {
          legend: {
            position: "bottom",
            labels: { usePointStyle: true, boxWidth: 14, filter: (item, data) => !data.datasets[item.datasetIndex].isMarker },
          },
          tooltip: {
            filter: (item) => item.raw && item.raw.date !== undefined,
            callbacks: {
              title: (items) => (items.length ? items[0].raw.date : ""),
              label: (item) =>
                item.dataset.type === "scatter"
                  ? item.dataset.label
                  : item.raw.nd
                    ? `${item.dataset.label}: ${words.not_detected}`
                    : `${item.dataset.label}: ${item.raw.y.toLocaleString(document.documentElement.lang || undefined)} ${spec.unit}`,
            },
          },
        },
      },
    });
  });
})();
