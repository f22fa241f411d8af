/* A stored backtest's chart: TradingView lightweight-charts (vendored, see static/vendor/README.md).
 *
 * Three panes: the close with every fill marked; the strategy's equity against
 * buy-and-hold; the drawdown from the running peak. Drawn once (a finished
 * run does not change). The container's data-* attributes tell tests what is drawn.
 */
(function () {
  "use strict";

  var LWC = window.LightweightCharts;
  var COLORS = { text: "#9aa0ab", grid: "#1b1f2a", border: "#2a2e39", up: "#26a69a", down: "#ef5350",
    price: "#d1d4dc", equity: "#f0b90b", hold: "#5b9cf6" };

  function fmt(value, decimals) {
    return value == null || !isFinite(value) ? "—" : Number(value).toFixed(decimals);
  }

  function draw(el, data) {
    var chart = LWC.createChart(el, {
      autoSize: true,
      layout: {
        background: { type: "solid", color: "#131722" },
        textColor: COLORS.text,
        fontFamily: getComputedStyle(document.body).fontFamily,
        fontSize: 11,
        panes: { separatorColor: COLORS.border, enableResize: true },
      },
      grid: { vertLines: { color: COLORS.grid }, horzLines: { color: COLORS.grid } },
      crosshair: { mode: LWC.CrosshairMode.Normal },
      rightPriceScale: { borderColor: COLORS.border },
      timeScale: { borderColor: COLORS.border, timeVisible: true, secondsVisible: false },
    });
    var line = { lineWidth: 2, priceLineVisible: false, lastValueVisible: true };
    var decimals = data.price_decimals;
    var price = chart.addSeries(LWC.LineSeries, Object.assign({}, line, {
      color: COLORS.price,
      lineWidth: 1.5,
      priceFormat: { type: "price", precision: decimals, minMove: Math.pow(10, -decimals) },
    }));
    var equity = chart.addSeries(LWC.LineSeries, Object.assign({ color: COLORS.equity, title: "strategy" }, line), 1);
    var hold = chart.addSeries(LWC.LineSeries, Object.assign({}, line, { color: COLORS.hold, title: "buy and hold", lineWidth: 1.5 }), 1);
    var drawdown = chart.addSeries(LWC.AreaSeries, {
      lineColor: COLORS.down,
      topColor: "rgba(239,83,80,0.05)",
      bottomColor: "rgba(239,83,80,0.35)",
      lineWidth: 1.5,
      priceLineVisible: false,
      priceFormat: { type: "custom", formatter: function (v) { return v.toFixed(1) + "%"; } },
      invertFilledArea: true,
    }, 2);
    price.setData(data.lines.close);
    equity.setData(data.lines.equity);
    hold.setData(data.lines.buy_and_hold);
    drawdown.setData(data.lines.drawdown);
    var markers = LWC.createSeriesMarkers(price, data.markers.map(function (m) {
      var buy = m.side === "BUY";
      return {
        time: m.time,
        position: buy ? "belowBar" : "aboveBar",
        color: buy ? COLORS.up : COLORS.down,
        shape: buy ? "arrowUp" : "arrowDown",
      };
    }));
    var panes = chart.panes();
    panes[0].setStretchFactor(2);
    panes[1].setStretchFactor(1.4);
    panes[2].setStretchFactor(0.8);
    chart.timeScale().fitContent();
    var legend = document.getElementById(el.dataset.legend || "");
    if (legend) {
      var last = function (list) { return list.length ? list[list.length - 1].value : null; };
      legend.innerHTML =
        '<span><i class="swatch swatch-price"></i>close ' + fmt(last(data.lines.close), decimals) + "</span>" +
        '<span><i class="swatch swatch-equity"></i>strategy ' + fmt(last(data.lines.equity), 2) + "</span>" +
        '<span><i class="swatch swatch-hold"></i>buy and hold ' + fmt(last(data.lines.buy_and_hold), 2) + "</span>" +
        '<span><i class="swatch swatch-drawdown"></i>drawdown ' + fmt(Math.min.apply(null, data.lines.drawdown.map(function (p) { return p.value; })), 1) + "% max</span>" +
        (data.note ? '<span class="down">' + data.note.replace(/</g, "&lt;") + "</span>" : "");
    }
    el.dataset.points = String(data.lines.close.length);
    el.dataset.markers = String(markers.markers().length);
    el.dataset.state = "ready";
    var status = el.querySelector(".chart-status");
    if (status) status.remove();
  }

  function fail(el, message) {
    el.dataset.state = "error";
    var status = el.querySelector(".chart-status");
    if (status) status.textContent = message;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!LWC) return;
    document.querySelectorAll("[data-backtest-chart]").forEach(function (el) {
      fetch(el.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          if (data.error) fail(el, "The curves cannot be drawn: " + data.error);
          else draw(el, data);
        })
        .catch(function (error) { fail(el, "Chart data unavailable: " + error.message); });
    });
  });
})();
