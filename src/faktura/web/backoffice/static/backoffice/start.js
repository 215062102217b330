// The revenue chart of the start page: the figures come from the page (json_script).
document.addEventListener("DOMContentLoaded", () => {
  const data = JSON.parse(document.getElementById("revenue-data").textContent);
  const canvas = document.getElementById("revenue-chart");
  if (!window.Chart || !canvas) return;
  const accent = getComputedStyle(document.documentElement).getPropertyValue("--accent").trim();
  const locale = document.documentElement.lang === "en" ? "en-GB" : "de-DE";
  const euro = new Intl.NumberFormat(locale, { style: "currency", currency: "EUR" });
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [{ data: data.values.map(Number), backgroundColor: accent, borderRadius: 3 }],
    },
    options: {
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => euro.format(c.parsed.y) } } },
      scales: { y: { ticks: { callback: (v) => euro.format(v) } }, x: { grid: { display: false } } },
    },
  });
  document.querySelector(".chart-fallback")?.classList.add("visually-hidden");
});
