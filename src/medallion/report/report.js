// Draws one small chart per rule (pass rate per update) from the JSON embedded in the page.
// Plain DOM calls, no library: the page is self-contained and opens from disk. Text goes in
// through textContent only, never as markup.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 280, H = 84, LEFT = 34, RIGHT = 8, TOP = 8, BOTTOM = 8;
  var data = JSON.parse(document.getElementById("medallion-report-data").textContent);

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (key) { node.setAttribute(key, String(attrs[key])); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function titled(node, text) {
    el("title", {}, node).textContent = text;
    return node;
  }

  function y(rate) { return TOP + (1 - rate) * (H - TOP - BOTTOM); }

  function draw(figure) {
    var rule = data.rules[Number(figure.getAttribute("data-rule"))];
    var n = data.updates.length;
    var slot = (W - LEFT - RIGHT) / n;
    var width = Math.max(2, Math.min(18, slot * 0.6));
    var svg = el("svg", {"class": "chart", width: W, height: H, viewBox: "0 0 " + W + " " + H,
                         role: "img"});
    titled(svg, rule.label + ": pass rate in the last " + n + " update(s)");
    [[1, "100%"], [0, "0%"]].forEach(function (tick) {
      el("line", {"class": tick[0] ? "grid" : "axis", x1: LEFT, x2: W - RIGHT,
                  y1: y(tick[0]), y2: y(tick[0])}, svg);
      var label = el("text", {"class": "tick", x: LEFT - 4, y: y(tick[0]) + 3}, svg);
      label.textContent = tick[1];
    });
    var points = [];
    rule.points.forEach(function (point, i) {
      var update = data.updates[i];
      var x = LEFT + slot * (i + 0.5);
      if (point === null) {
        titled(el("rect", {"class": "norun", x: x - width / 2, y: y(0) - 2, width: width,
                           height: 2, "data-update": update.id}, svg),
               "update " + update.short + " (" + update.started + "): not evaluated");
        return;
      }
      var top = y(point.rate);
      titled(el("rect", {"class": point.failed ? "run failing" : "run", x: x - width / 2,
                         y: Math.min(top, y(0) - 1), width: width,
                         height: Math.max(1, y(0) - top), "data-update": update.id,
                         "data-passed": point.passed, "data-failed": point.failed}, svg),
             "update " + update.short + " (" + update.started + "): " + point.passed_label +
             " passed, " + point.failed_label + " failed, pass rate " + point.rate_label);
      points.push(x.toFixed(1) + " " + top.toFixed(1));
    });
    if (points.length) {
      el("path", {"class": "line", d: "M " + points.join(" L ")}, svg);
    }
    figure.insertBefore(svg, figure.firstChild);
    figure.setAttribute("data-drawn", String(points.length));
  }

  var figures = document.querySelectorAll("figure.trend");
  Array.prototype.forEach.call(figures, draw);
  document.body.setAttribute("data-charts-drawn", String(figures.length));
}());
