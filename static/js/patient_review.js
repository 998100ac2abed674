// The per-patient review charts. Data comes from the page's json_script block "review-data"; x values are
// milliseconds since the epoch on a linear axis, formatted as dates in the patient's time zone, so Chart.js
// needs no date adapter. All three charts share the same x range (the window chosen with the page's range links),
// so they line up in time. A point with y null marks a gap longer than the reminders' schedule asked for: with
// spanGaps off the line breaks there, so no line is drawn across days without a report. Every word drawn comes
// from the server (data.labels, data.severities and the series' own labels), already translated.
(function () {
  const source = document.getElementById("review-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const words = data.labels;
  const zone = data.timezone || undefined;
  const day = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", timeZone: zone });
  const full = new Intl.DateTimeFormat(undefined, {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZone: zone,
  });
  const HOUR = 3600 * 1000;
  let [min, max] = data.range || [Date.now() - 24 * HOUR, Date.now()];
  if (max - min < 12 * HOUR) { // a single report: give it some room either side
    min -= 6 * HOUR;
    max += 6 * HOUR;
  }
  const pad = (max - min) * 0.02;

  // Ticks fall on round hours or midnights in the patient's time zone: pick a step that gives at most 7 ticks,
  // then place them on the wall clock of that zone (its UTC offset read with Intl, so DST is followed).
  const DAY = 24 * HOUR;
  const STEPS = [HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY, 91 * DAY];
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
    hour: "numeric", minute: "numeric", second: "numeric",
  });
  function offset(t) {
    const p = Object.fromEntries(parts.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second) - Math.floor(t / 1000) * 1000;
  }
  const lo = min - pad;
  const hi = max + pad;
  const step = STEPS.find((s) => (hi - lo) / s <= 7) || Math.ceil((hi - lo) / 7 / DAY) * DAY;
  const tickValues = [];
  for (let wall = Math.ceil((lo + offset(lo)) / step) * step; tickValues.length < 12; wall += step) {
    const t = wall - offset(wall - offset(wall));
    if (t > hi) break;
    if (t >= lo) tickValues.push(t);
  }
  const hourly = new Intl.DateTimeFormat(undefined, {
    day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZone: zone,
  });
  const label = (value) => (step < DAY ? hourly : day).format(new Date(value));

  function xAxis() {
    return {
      type: "linear",
      min: lo,
      max: hi,
      afterBuildTicks: (axis) => {
        axis.ticks = tickValues.map((value) => ({ value }));
      },
      ticks: { callback: label, autoSkip: true, maxRotation: 0 },
      grid: { color: "rgba(0,0,0,.05)" },
    };
  }
  const Y_WIDTH = 64; // the same y-axis width on every chart, so that their time axes line up
  const fixWidth = (axis) => {
    axis.width = Y_WIDTH;
  };
  const tooltipTitle = (items) => (items.length ? full.format(new Date(items[0].parsed.x)) : "");
  const common = {
    maintainAspectRatio: false,
    animation: false,
    interaction: { mode: "nearest", intersect: false },
    plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } }, tooltip: { callbacks: { title: tooltipTitle } } },
  };

  const temperatureCanvas = document.getElementById("temperature-chart");
  if (temperatureCanvas) {
    const temps = data.temperature.map((p) => p.y).filter((y) => y !== null);
    new Chart(temperatureCanvas, {
      type: "line",
      data: {
        datasets: [
          {
            label: words.temperature,
            data: data.temperature,
            spanGaps: false,
            borderColor: "#0d6efd",
            backgroundColor: data.temperature.map((p) => (p.y >= data.fever_c ? "#dc3545" : "#0d6efd")),
            pointRadius: 3,
            tension: 0.15,
          },
          {
            label: words.fever,
            data: [{ x: lo, y: data.fever_c }, { x: hi, y: data.fever_c }],
            borderColor: "#dc3545",
            borderDash: [6, 4],
            borderWidth: 1.5,
            pointRadius: 0,
            pointHitRadius: 0,
          },
        ],
      },
      options: {
        ...common,
        scales: {
          x: xAxis(),
          y: {
            suggestedMin: Math.min(36, ...temps),
            suggestedMax: Math.max(data.fever_c + 1, ...temps),
            title: { display: true, text: "°C" },
            afterFit: fixWidth,
          },
        },
      },
    });
  }

  const symptomCanvas = document.getElementById("symptom-chart");
  if (symptomCanvas) {
    new Chart(symptomCanvas, {
      type: "line",
      data: {
        datasets: data.symptoms.map((s) => ({
          label: s.label,
          data: s.data,
          borderColor: s.colour,
          backgroundColor: s.colour,
          pointRadius: 3,
          stepped: false,
          tension: 0,
          spanGaps: false,
        })),
      },
      options: {
        ...common,
        scales: {
          x: xAxis(),
          y: { min: 0, max: 4, ticks: { stepSize: 1 }, title: { display: true, text: words.grade }, afterFit: fixWidth },
        },
      },
    });
  }

  const alertCanvas = document.getElementById("alert-chart");
  if (alertCanvas) {
    new Chart(alertCanvas, {
      type: "scatter",
      data: {
        datasets: [
          {
            label: words.alerts,
            data: data.alerts,
            backgroundColor: data.alerts.map((a) => a.colour),
            borderColor: data.alerts.map((a) => a.colour),
            pointRadius: 6,
            pointHoverRadius: 8,
          },
        ],
      },
      options: {
        ...common,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: tooltipTitle,
              label: (item) => {
                const a = data.alerts[item.dataIndex];
                return words.alert.replace("%(severity)s", a.label).replace("%(status)s", a.status).replace("%(reason)s", a.reason);
              },
            },
          },
        },
        scales: {
          x: xAxis(),
          y: {
            min: 0.5,
            max: 3.5,
            afterBuildTicks: (axis) => {
              axis.ticks = [1, 2, 3].map((value) => ({ value }));
            },
            ticks: { callback: (value) => data.severities[String(value)] || "" },
            afterFit: fixWidth,
          },
        },
      },
    });
  }
})();
