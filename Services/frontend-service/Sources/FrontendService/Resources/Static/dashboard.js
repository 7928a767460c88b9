// Draws the dashboard's charts from the JSON the page carries.
(() => {
  "use strict";
  const data = document.getElementById("chart-data");
  if (!data || typeof Chart === "undefined") return;
  const palette = ["#0d6efd", "#20c997", "#ffc107", "#dc3545", "#6f42c1", "#fd7e14", "#0dcaf0", "#6c757d", "#198754", "#d63384", "#adb5bd", "#212529"];
  for (const chart of JSON.parse(data.textContent)) {
    const canvas = document.getElementById(chart.id);
    if (!canvas) continue;
    const round = chart.type === "doughnut";
    if (!chart.series.some((series) => series.values.some((value) => value > 0))) {
      // The empty chart is still drawn (its axes and legend); a note over it says why it is flat.
      const note = document.createElement("p");
      note.className = "chart-empty"; note.textContent = "Nothing to show for this period yet.";
      canvas.after(note);
    }
    new Chart(canvas, {
      type: chart.type,
      data: {
        labels: chart.labels,
        datasets: chart.series.map((series, index) => ({
          label: series.label,
          data: series.values,
          backgroundColor: round ? palette : palette[index % palette.length],
          borderColor: round ? "#fff" : palette[index % palette.length],
          tension: 0.25,
        })),
      },
      options: {
        responsive: true, maintainAspectRatio: false,
        plugins: { legend: { display: round || chart.series.length > 1, position: "bottom" } },
        scales: round ? {} : { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
  }
})();
