// chart.js: the page's own small charts, drawn as SVG. No dependency, nothing fetched, no inline
// style or HTML parsing (the page's Content-Security-Policy allows neither): DOM calls only, and
// every text from the data is set as text.
//
//   import { stackedBarChart, barList } from "./chart.js";
//
//   // Vertical bars, one per category, each stacked from its series (the first at the bottom).
//   const figure = stackedBarChart({
//     title: "Lectures par jour",                 // the SVG's <title> and the table's caption
//     label: "Lectures par jour : 12 au total",   // the SVG's aria-label (default: title)
//     categories: [{ key: "2026-11-30", label: "lun.\n30/11" }, ...],  // "\n": two lines
//     series: [{ key: "covered", label: "Couvertes", colour: "#0b5a27", values: [3, 0, ...] },
//              ...],                              // values: one per category
//     headers: { category: "Jour", total: "Total" },       // the table's first and last columns
//     format: (n) => n.toLocaleString("fr-FR"),   // numbers on the axis, bars and table
//     colon: " : ",                               // between a name and its number (hover)
//     width: 480, height: 260,                    // the viewBox; the SVG fills its box's width
//   });
//   container.replaceChildren(figure);
//
//   // A horizontal bar list, longest first as given: label, bar, number.
//   const list = barList({
//     title: "Motifs de refus",                   // the list's aria-label
//     items: [{ key: "bad_amc_number", label: "N° AMC incorrect", value: 4 }, ...],
//     colour: "#9b111a", format, colon,
//   });
//
// What comes out, for tests and styles:
// - stackedBarChart: <figure class="chart chart-stacked"> holding
//   <svg class="chart-svg" role="img" aria-label> with its <title>; the y axis
//   (g.chart-axis, one g.chart-tick[data-value] per tick); one g.chart-bar[data-category]
//   [data-total] per category holding one rect.chart-segment[data-series][data-value] per
//   series with a value above 0, bottom to top, each with a <title> ("lun. 30/11, Couvertes :
//   3") shown on hover; the total above the bar (text.chart-total); then ul.chart-legend
//   (li[data-series]) and table.chart-table (class visually-hidden: read by screen readers,
//   not shown), one row per category (tr[data-category]) and a cell per series
//   (td[data-series]) and the total.
// - barList: <ol class="chart bar-list" aria-label> with one li.bar-item[data-key][data-value]
//   per item: span.bar-label, span.bar-track (an aria-hidden SVG bar, its length relative to
//   the largest value) and span.bar-value.
// No chart is drawn from nothing: with no category or every value 0, say so in a sentence
// instead (the caller's job: the functions draw whatever they are given).

const SVG = "http://www.w3.org/2000/svg";
const INK = "#4a5360";
const GRID = "#c9ced6";

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) element.append(child);
  }
  return element;
}

function html(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined) continue;
    if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) element.append(child);
  }
  return element;
}

const plain = (n) => String(n);

/** A tick step of 1, 2 or 5 times a power of ten (never below 1: counts are whole), so that
 * 0..max takes at most `count` steps. */
export function tickStep(max, count = 4) {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return Math.max(1, step);
}

/** A category's label on one line ("lun. 30/11"), for titles and the table. */
function oneLine(label) {
  return String(label).replace(/\s*\n\s*/g, " ");
}

function swatch(colour) {
  return svg(
    "svg",
    { class: "chart-swatch", width: 14, height: 14, viewBox: "0 0 14 14", "aria-hidden": "true" },
    svg("rect", { width: 14, height: 14, rx: 2, fill: colour }),
  );
}

export function stackedBarChart({
  title,
  label,
  categories,
  series,
  headers = {},
  format = plain,
  colon = " : ",
  width = 480,
  height = 260,
}) {
  const margin = { top: 22, right: 8, bottom: 40, left: 36 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const totals = categories.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  const step = tickStep(Math.max(0, ...totals));
  const top = Math.max(step, Math.ceil(Math.max(0, ...totals) / step) * step);
  const y = (value) => margin.top + plotHeight - (value / top) * plotHeight;
  const band = plotWidth / Math.max(1, categories.length);
  const barWidth = Math.min(48, band * 0.62);

  const axis = svg("g", { class: "chart-axis", "aria-hidden": "true" });
  for (let value = 0; value <= top; value += step) {
    axis.append(
      svg(
        "g",
        { class: "chart-tick", "data-value": value },
        svg("line", {
          x1: margin.left, x2: width - margin.right, y1: y(value), y2: y(value),
          stroke: GRID, "stroke-width": 1,
        }),
        svg(
          "text",
          { x: margin.left - 6, y: y(value), "text-anchor": "end", "dominant-baseline": "middle",
            "font-size": 13, fill: INK },
          format(value),
        ),
      ),
    );
  }

  const bars = categories.map((category, i) => {
    const centre = margin.left + band * i + band / 2;
    const group = svg("g", {
      class: "chart-bar", "data-category": category.key, "data-total": totals[i],
    });
    let base = 0;
    for (const s of series) {
      const value = s.values[i] || 0;
      if (value <= 0) continue;
      group.append(
        svg(
          "rect",
          {
            class: `chart-segment chart-series-${s.key}`,
            "data-series": s.key,
            "data-value": value,
            x: centre - barWidth / 2,
            y: y(base + value),
            width: barWidth,
            height: y(base) - y(base + value),
            fill: s.colour,
          },
          svg("title", {}, `${oneLine(category.label)}, ${s.label}${colon}${format(value)}`),
        ),
      );
      base += value;
    }
    if (totals[i] > 0) {
      group.append(
        svg(
          "text",
          { class: "chart-total", x: centre, y: y(totals[i]) - 5, "text-anchor": "middle",
            "font-size": 13, "font-weight": 700, fill: INK, "aria-hidden": "true" },
          format(totals[i]),
        ),
      );
    }
    const lines = String(category.label).split("\n");
    group.append(
      svg(
        "text",
        { class: "chart-category", x: centre, y: height - margin.bottom + 16, "text-anchor": "middle",
          "font-size": 13, fill: INK, "aria-hidden": "true" },
        ...lines.map((line, n) => svg("tspan", { x: centre, dy: n ? 14 : 0 }, line)),
      ),
    );
    return group;
  });

  const baseline = svg("line", {
    class: "chart-baseline", x1: margin.left, x2: width - margin.right,
    y1: y(0), y2: y(0), stroke: INK, "stroke-width": 1.5, "aria-hidden": "true",
  });
  const picture = svg(
    "svg",
    {
      class: "chart-svg", role: "img", "aria-label": label || title,
      viewBox: `0 0 ${width} ${height}`, width: "100%", preserveAspectRatio: "xMidYMid meet",
    },
    svg("title", {}, title),
    axis,
    ...bars,
    baseline,
  );

  const legend = html(
    "ul",
    { class: "chart-legend", "aria-hidden": "true" },
    ...series.map((s) => html("li", { dataset: { series: s.key } }, swatch(s.colour), " ", s.label)),
  );

  const table = html(
    "table",
    { class: "chart-table visually-hidden" },
    html("caption", {}, title),
    html(
      "thead",
      {},
      html(
        "tr",
        {},
        html("th", { scope: "col" }, headers.category ?? ""),
        ...series.map((s) => html("th", { scope: "col" }, s.label)),
        html("th", { scope: "col" }, headers.total ?? "Total"),
      ),
    ),
    html(
      "tbody",
      {},
      ...categories.map((category, i) =>
        html(
          "tr",
          { dataset: { category: category.key } },
          html("th", { scope: "row" }, oneLine(category.label)),
          ...series.map((s) => html("td", { dataset: { series: s.key } }, format(s.values[i] || 0))),
          html("td", { dataset: { series: "total" } }, format(totals[i])),
        ),
      ),
    ),
  );

  return html("figure", { class: "chart chart-stacked" }, picture, legend, table);
}

export function barList({ title, items, colour = INK, format = plain, colon = " : " }) {
  const largest = Math.max(1, ...items.map((item) => item.value));
  return html(
    "ol",
    { class: "chart bar-list", "aria-label": title },
    ...items.map((item) =>
      html(
        "li",
        {
          class: "bar-item",
          dataset: { key: item.key, value: String(item.value) },
          title: `${item.label}${colon}${format(item.value)}`,
        },
        html("span", { class: "bar-label" }, item.label),
        html(
          "span",
          { class: "bar-track" },
          svg(
            "svg",
            { width: "100%", height: 12, "aria-hidden": "true", preserveAspectRatio: "none" },
            svg("rect", {
              x: 0, y: 0, height: 12, rx: 2, fill: colour,
              width: `${((item.value / largest) * 100).toFixed(1)}%`,
            }),
          ),
        ),
        html("span", { class: "bar-value" }, format(item.value)),
      ),
    ),
  );
}
