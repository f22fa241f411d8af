/* The bot page's chart: TradingView lightweight-charts (vendored, see static/vendor/README.md).
 *
 * One chart, three panes: candles with the fast and slow moving averages and
 * the bot's fills; RSI with the bot's buy and sell thresholds; MACD with its
 * signal line, histogram and zero line. The data (and every indicator value)
 * comes from the server's chart JSON; it is fetched again every 5 s while the
 * tab is visible. The container's data-* attributes tell tests what is drawn.
 */
(function () {
  "use strict";

  var LWC = window.LightweightCharts;
  var COLORS = {
    text: "#9aa0ab",
    grid: "#1b1f2a",
    border: "#2a2e39",
    up: "#26a69a",
    down: "#ef5350",
    fast: "#f0b90b",
    slow: "#5b9cf6",
    rsi: "#b388ff",
    macd: "#2962ff",
    signal: "#ff9800",
  };
  var POLL_MS = 5000;

  function fmt(value, decimals) {
    return value == null || !isFinite(value) ? "—" : Number(value).toFixed(decimals);
  }

  function Chart(el) {
    this.el = el;
    this.url = el.dataset.url;
    this.legend = document.getElementById(el.dataset.legend || "");
    this.priceLines = {};
    this.decimals = 2;
    this.chart = LWC.createChart(el, {
      autoSize: true,
      layout: {
        background: { type: "solid", color: "#131722" },
        textColor: COLORS.text,
        fontFamily: getComputedStyle(document.body).fontFamily,
        fontSize: 11,
        panes: { separatorColor: COLORS.border, separatorHoverColor: "#363a45", enableResize: true },
      },
      grid: { vertLines: { color: COLORS.grid }, horzLines: { color: COLORS.grid } },
      crosshair: { mode: LWC.CrosshairMode.Normal },
      rightPriceScale: { borderColor: COLORS.border },
      timeScale: { borderColor: COLORS.border, timeVisible: true, secondsVisible: false, rightOffset: 4 },
    });
    var line = { lineWidth: 2, priceLineVisible: false, lastValueVisible: false, crosshairMarkerVisible: false };
    this.candles = this.chart.addSeries(LWC.CandlestickSeries, {
      upColor: COLORS.up,
      downColor: COLORS.down,
      borderVisible: false,
      wickUpColor: COLORS.up,
      wickDownColor: COLORS.down,
    });
    this.fast = this.chart.addSeries(LWC.LineSeries, Object.assign({ color: COLORS.fast }, line));
    this.slow = this.chart.addSeries(LWC.LineSeries, Object.assign({ color: COLORS.slow }, line));
    this.rsi = this.chart.addSeries(LWC.LineSeries, Object.assign({}, line, {
      color: COLORS.rsi,
      lastValueVisible: true,
      priceFormat: { type: "price", precision: 1, minMove: 0.1 },
      autoscaleInfoProvider: function () {
        return { priceRange: { minValue: 0, maxValue: 100 }, margins: { above: 4, below: 4 } };
      },
    }), 1);
    this.histogram = this.chart.addSeries(LWC.HistogramSeries, { priceLineVisible: false, lastValueVisible: false }, 2);
    this.macd = this.chart.addSeries(LWC.LineSeries, Object.assign({}, line, { color: COLORS.macd, lineWidth: 1.5 }), 2);
    this.signal = this.chart.addSeries(LWC.LineSeries, Object.assign({}, line, { color: COLORS.signal, lineWidth: 1.5 }), 2);
    this.markers = LWC.createSeriesMarkers(this.candles, []);
    var panes = this.chart.panes();
    panes[0].setStretchFactor(3);
    panes[1].setStretchFactor(1);
    panes[2].setStretchFactor(1);
    this.priceLines.zero = this.macd.createPriceLine({
      price: 0, color: "#50535e", lineWidth: 1, lineStyle: LWC.LineStyle.Dotted, axisLabelVisible: false, title: "",
    });
    this.chart.subscribeCrosshairMove(this.onCrosshair.bind(this));
    this.fitted = false;
  }

  Chart.prototype.threshold = function (key, price, color, title) {
    var options = { price: price, color: color, lineWidth: 1, lineStyle: LWC.LineStyle.Dashed, axisLabelVisible: true, title: title };
    if (this.priceLines[key]) this.priceLines[key].applyOptions(options);
    else this.priceLines[key] = this.rsi.createPriceLine(options);
  };

  Chart.prototype.apply = function (data) {
    this.data = data;
    this.decimals = data.price_decimals;
    var format = { type: "price", precision: data.price_decimals, minMove: Math.pow(10, -data.price_decimals) };
    this.candles.applyOptions({ priceFormat: format });
    this.fast.applyOptions({ priceFormat: format, title: data.labels.fast_ma });
    this.slow.applyOptions({ priceFormat: format, title: data.labels.slow_ma });
    this.candles.setData(data.candles);
    this.fast.setData(data.lines.fast_ma);
    this.slow.setData(data.lines.slow_ma);
    this.rsi.setData(data.lines.rsi);
    this.macd.setData(data.lines.macd);
    this.signal.setData(data.lines.macd_signal);
    this.histogram.setData(data.lines.macd_histogram.map(function (p) {
      return { time: p.time, value: p.value, color: p.value >= 0 ? "rgba(38,166,154,0.55)" : "rgba(239,83,80,0.55)" };
    }));
    this.threshold("rsiBuy", data.thresholds.rsi_buy, COLORS.up, "buy");
    this.threshold("rsiSell", data.thresholds.rsi_sell, COLORS.down, "sell");
    var decimals = data.price_decimals;
    this.markers.setMarkers(data.markers.map(function (m) {
      var buy = m.side === "BUY";
      return {
        time: m.time,
        position: buy ? "belowBar" : "aboveBar",
        color: buy ? COLORS.up : COLORS.down,
        shape: buy ? "arrowUp" : "arrowDown",
        text: (buy ? "B " : "S ") + fmt(parseFloat(m.price), decimals),
      };
    }));
    if (!this.fitted && data.candles.length) {
      this.chart.timeScale().setVisibleLogicalRange({ from: Math.max(0, data.candles.length - 160), to: data.candles.length + 4 });
      this.fitted = true;
    }
    this.el.dataset.candles = String(data.candles.length);
    this.el.dataset.markers = String(this.markers.markers().length);
    this.el.dataset.state = "ready";
    var status = this.el.querySelector(".chart-status");
    if (status) status.remove();
    this.onCrosshair({});
  };

  Chart.prototype.onCrosshair = function (param) {
    if (!this.legend || !this.data || !this.data.candles.length) return;
    var bar = param && param.seriesData && param.seriesData.get(this.candles);
    if (!bar) bar = this.data.candles[this.data.candles.length - 1];
    var value = function (series, list) {
      var point = param && param.seriesData && param.seriesData.get(series);
      if (point) return point.value;
      return list.length ? list[list.length - 1].value : null;
    };
    var d = this.decimals;
    var tone = bar.close >= bar.open ? "up" : "down";
    var labels = this.data.labels;
    this.legend.innerHTML =
      '<span>O <b class="' + tone + '">' + fmt(bar.open, d) + "</b></span>" +
      '<span>H <b class="' + tone + '">' + fmt(bar.high, d) + "</b></span>" +
      '<span>L <b class="' + tone + '">' + fmt(bar.low, d) + "</b></span>" +
      '<span>C <b class="' + tone + '">' + fmt(bar.close, d) + "</b></span>" +
      '<span><i class="swatch swatch-fast"></i>' + labels.fast_ma + " " + fmt(value(this.fast, this.data.lines.fast_ma), d) + "</span>" +
      '<span><i class="swatch swatch-slow"></i>' + labels.slow_ma + " " + fmt(value(this.slow, this.data.lines.slow_ma), d) + "</span>" +
      '<span><i class="swatch swatch-rsi"></i>' + labels.rsi + " " + fmt(value(this.rsi, this.data.lines.rsi), 1) + "</span>" +
      '<span><i class="swatch swatch-macd"></i>' + labels.macd + " " + fmt(value(this.macd, this.data.lines.macd), d) + "</span>";
  };

  Chart.prototype.load = function () {
    var self = this;
    return fetch(this.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("chart data: HTTP " + response.status);
        return response.json();
      })
      .then(function (data) { self.apply(data); })
      .catch(function (error) {
        self.el.dataset.state = "error";
        var status = self.el.querySelector(".chart-status");
        if (status) status.textContent = "Chart data unavailable: " + error.message;
      });
  };

  Chart.prototype.start = function () {
    var self = this;
    this.load();
    setInterval(function () {
      if (document.visibilityState === "visible") self.load();
    }, POLL_MS);
    document.body.addEventListener("bots-changed", function () { self.load(); });
  };

  document.addEventListener("DOMContentLoaded", function () {
    if (!LWC) return;
    document.querySelectorAll("[data-chart]").forEach(function (el) { new Chart(el).start(); });
  });
})();
