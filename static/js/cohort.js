// The cohort dashboard's Kaplan-Meier charts (templates/recovery/cohort.html): one per endpoint, the estimate as
// a step line, its 95% confidence interval as a shaded band, and the published reference points as labelled
// markers. The data come from the "cohort-charts" JSON block; the numbers at risk are in the table under each.
(function () {
  const data = JSON.parse(document.getElementById("cohort-charts").textContent);
  const BLUE = "#0d6efd";
  const BAND = "rgba(13, 110, 253, 0.14)";
  const ANCHOR_STYLES = [
    { color: "#b35900", shape: "rectRot" },
    { color: "#6f42c1", shape: "triangle" },
    { color: "#198754", shape: "rect" },
  ];
  const pct = (v) => `${Math.round(v * 1000) / 10}%`;

  // Draws each reference point's label ("Sweden 73%") beside its marker, inside the plot area. On a narrow chart
  // only the figure is written ("73%"): the marker's shape and the legend say whose it is.
  const anchorLabels = {
    id: "anchorLabels",
    afterDatasetsDraw(chart) {
      const { ctx, chartArea } = chart;
      ctx.save();
      ctx.font = "600 11px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
      ctx.textBaseline = "middle";
      const narrow = chartArea.right - chartArea.left < 480;
      chart.data.datasets.forEach((dataset, index) => {
        if (!dataset.anchor || !chart.isDatasetVisible(index)) return;
        chart.getDatasetMeta(index).data.forEach((element, i) => {
          const point = dataset.data[i];
          const text = narrow ? pct(point.y) : `${point.study} ${pct(point.y)}`;
          const width = ctx.measureText(text).width;
          const right = element.x + 10 + width <= chartArea.right;
          ctx.fillStyle = dataset.borderColor;
          ctx.textAlign = right ? "left" : "right";
          const y = Math.min(Math.max(element.y + (dataset.labelOffset || 0), chartArea.top + 6), chartArea.bottom - 6);
          ctx.fillText(text, right ? element.x + 10 : element.x - 10, y);
        });
      });
      ctx.restore();
    },
  };

  function anchorDatasets(benchmarks) {
    const studies = [...new Set(benchmarks.map((b) => b.study))];
    return studies.map((study, index) => {
      const style = ANCHOR_STYLES[index % ANCHOR_STYLES.length];
      const points = benchmarks.filter((b) => b.study === study);
      return {
        label: `${study} [${points[0].source}]`,
        anchor: true,
        // Two studies at the same month: nudge the labels apart (the lower one down, the upper one up).
        labelOffset: index === 0 ? -8 : 8,
        data: points.map((b) => ({ x: b.x, y: b.y, study: study, population: b.population })),
        showLine: false,
        borderColor: style.color,
        backgroundColor: style.color,
        pointStyle: style.shape,
        pointRadius: 7,
        pointHoverRadius: 8,
        clip: false, // a marker at the last month stays whole
      };
    });
  }

  function draw(curve) {
    const canvas = document.getElementById(`km-${curve.key}-chart`);
    if (!canvas) return;
    const step = { stepped: "before", pointRadius: 0, pointHoverRadius: 0 };
    new Chart(canvas, {
      type: "line",
      data: {
        datasets: [
          {
            ...step,
            label: "95% CI",
            data: curve.points.map((p) => ({ x: p.x, y: p.hi })),
            borderWidth: 0,
            borderColor: BAND,
            backgroundColor: BAND,
            fill: "+1",
          },
          {
            ...step,
            label: "95% CI (lower)",
            data: curve.points.map((p) => ({ x: p.x, y: p.lo })),
            borderWidth: 0,
            borderColor: BAND,
            fill: false,
          },
          {
            ...step,
            label: `${curve.label} (this cohort)`,
            data: curve.points.map((p) => ({ x: p.x, y: p.y, lo: p.lo, hi: p.hi, n: p.n })),
            borderColor: BLUE,
            backgroundColor: BLUE,
            borderWidth: 2.5,
            pointHitRadius: 6,
          },
          ...anchorDatasets(curve.benchmarks),
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: { xAxisKey: "x", yAxisKey: "y" },
        interaction: { mode: "nearest", intersect: false },
        scales: {
          x: {
            type: "linear",
            min: 0,
            max: data.x_max,
            ticks: { stepSize: data.x_step, maxRotation: 0, autoSkip: true },
            title: { display: true, text: "Months since Day 0" },
          },
          y: {
            min: 0,
            max: 1,
            ticks: { stepSize: 0.2, callback: (v) => `${Math.round(v * 100)}%` },
            title: { display: true, text: "Without the event" },
          },
        },
        plugins: {
          legend: {
            position: "bottom",
            labels: { usePointStyle: true, boxHeight: 8, filter: (item) => item.text !== "95% CI (lower)" },
          },
          tooltip: {
            filter: (item) => item.datasetIndex >= 2,
            callbacks: {
              title: (items) => (items.length ? `${items[0].parsed.x.toFixed(1)} months` : ""),
              label: (item) => {
                const raw = item.raw;
                if (item.dataset.anchor) return `${raw.study}: ${pct(raw.y)} (${raw.population})`;
                const risk = raw.n === null || raw.n === undefined ? "" : `, ${raw.n} at risk`;
                return `${pct(raw.y)} (95% CI ${pct(raw.lo)}–${pct(raw.hi)})${risk}`;
              },
            },
          },
        },
      },
      plugins: [anchorLabels],
    });
  }

  data.curves.forEach(draw);
})();
