// The relationship map of a party's page (templates/parties/_graph.html, xrm_core/ui/graph_view.py).
// Draws the embedded picture with cytoscape.js, redraws it from graph.json when the filter changes
// (keeping the list of relationships beside it in step), and opens a party's page when it is clicked.
(function () {
  "use strict";

  const STYLE = [
    { selector: "node", style: {
      "label": "data(caption)", "text-valign": "bottom", "text-margin-y": 4, "text-wrap": "wrap",
      "text-max-width": 130, "font-size": 11, "color": "#1b2433", "width": 26, "height": 26,
      "border-width": 2, "border-color": "#ffffff" } },
    { selector: "node[kind = 'person']", style: { "background-color": "#0b6e4f", "shape": "ellipse" } },
    { selector: "node[kind = 'organization']", style: { "background-color": "#51278a", "shape": "round-rectangle" } },
    { selector: "node[?centre]", style: { "width": 40, "height": 40, "border-width": 5, "border-color": "#f2a900",
      "font-weight": "bold" } },
    { selector: "edge", style: {
      "label": "data(label)", "curve-style": "bezier", "width": 1.5, "line-color": "#9aa7b8",
      "target-arrow-shape": "triangle", "target-arrow-color": "#9aa7b8", "font-size": 10,
      "color": "#4f5b6d", "text-rotation": "autorotate", "text-background-color": "#ffffff",
      "text-background-opacity": 0.85, "text-background-padding": 2 } },
    { selector: "edge[?symmetric]", style: { "target-arrow-shape": "none" } },
  ];

  function elements(picture) {
    const nodes = picture.nodes.map((node) => ({
      data: Object.assign({}, node, { caption: node.roles.length ? `${node.label}\n(${node.roles.join(", ")})` : node.label }),
    }));
    return nodes.concat(picture.edges.map((edge) => ({ data: edge })));
  }

  function draw(container, picture) {
    const graph = cytoscape({
      container,
      elements: elements(picture),
      style: STYLE,
      // Rings around the party: its direct relations first, theirs outside.
      layout: { name: "concentric", concentric: (node) => 10 - node.data("hops"), levelWidth: () => 1,
                minNodeSpacing: 80, animate: false },
      maxZoom: 3,
    });
    graph.on("tap", "node", (event) => window.location.assign(event.target.data("url")));
    graph.on("mouseover", "node", () => { container.style.cursor = "pointer"; });
    graph.on("mouseout", "node", () => { container.style.cursor = ""; });
    // The instance drawn, for the browser tests and the console.
    window.xrmPartyGraph = graph;
    return graph;
  }

  function link(node) {
    const cell = document.createElement("td");
    const anchor = document.createElement("a");
    anchor.href = node.url;
    anchor.textContent = node.label;
    cell.append(anchor);
    return cell;
  }

  function list(section, picture) {
    const nodes = new Map(picture.nodes.map((node) => [node.id, node]));
    const rows = picture.edges.map((edge) => {
      const row = document.createElement("tr");
      const label = document.createElement("td");
      label.textContent = edge.label;
      row.append(link(nodes.get(edge.source)), label, link(nodes.get(edge.target)));
      return row;
    });
    section.querySelector("#party-graph-edges").replaceChildren(...rows);
    section.querySelector("[data-graph-empty]").hidden = rows.length > 0;
    section.querySelector("[data-graph-notice]").textContent = picture.notice;
  }

  function showErrors(section, messages) {
    const box = section.querySelector("[data-graph-errors]");
    box.replaceChildren(...messages.map((message) => {
      const paragraph = document.createElement("p");
      paragraph.className = "error-text";
      paragraph.textContent = message;
      return paragraph;
    }));
  }

  function start() {
    const section = document.getElementById("party-graph");
    if (!section || typeof cytoscape === "undefined") {
      return;  // no map on this page, or the library failed to load: the list stays open
    }
    const container = section.querySelector("#party-graph-canvas");
    const form = section.querySelector("form");
    container.hidden = false;
    section.querySelector("details.graph-list").open = false;
    let graph = draw(container, JSON.parse(section.querySelector("#party-graph-data").textContent));

    async function redraw(event) {
      event.preventDefault();
      const query = new URLSearchParams(new FormData(form)).toString();
      const response = await fetch(`${form.dataset.graphSource}?${query}`, {
        headers: { Accept: "application/json" }, credentials: "same-origin" });
      const body = await response.json();
      if (!response.ok) {
        showErrors(section, [body.detail || body.title]);
        return;
      }
      showErrors(section, []);
      graph.destroy();
      graph = draw(container, body);
      list(section, body);
      history.replaceState(null, "", `${form.action.split("#")[0]}?${query}#party-graph`);
    }

    form.addEventListener("change", redraw);
    form.addEventListener("submit", redraw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
