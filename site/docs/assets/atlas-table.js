/* Papers tables: the HTML table of a page (div.atlas-papers[data-filters]) becomes a Tabulator
   table (assets/vendor/tabulator, MIT) that sorts by any column and filters by the form above
   it. The form's state lives in the page URL (?year=2024&tag=math&sort=date&dir=asc), so a view
   can be shared. Rows come from the HTML table: its cells are already escaped by the site
   generator, and the filter values from its data attributes. */
(function () {
  "use strict";

  var FIELDS = ["q", "year", "node", "tag", "venue", "code", "baseline"];

  function rowData(tr) {
    var cells = tr.cells;
    var d = tr.dataset;
    var summary = cells[0].querySelector(".atlas-summary-text");
    return {
      id: d.id,
      title: cells[0].querySelector("a").textContent,
      titleHtml: cells[0].innerHTML,
      authors: cells[1].textContent,
      date: d.date,
      venue: d.venue,
      code: d.code === "1" ? 1 : 0,
      codeHtml: cells[4].innerHTML,
      tagsText: d.tags,
      tagsHtml: cells[5].innerHTML,
      year: d.year,
      nodes: d.nodes ? d.nodes.split(" ") : [],
      tags: d.tags ? d.tags.split(" ") : [],
      baseline: d.baseline === "1",
      text: [d.id, d.arxiv, tr.textContent, summary ? summary.textContent : ""].join(" ").toLowerCase(),
    };
  }

  function readState(form) {
    var state = {};
    FIELDS.forEach(function (name) {
      var input = form.elements[name];
      if (!input) return;
      var value = input.type === "checkbox" ? (input.checked ? "1" : "") : input.value.trim();
      if (value) state[name] = value;
    });
    return state;
  }

  function writeForm(form, params) {
    FIELDS.forEach(function (name) {
      var input = form.elements[name];
      var value = params.get(name);
      if (!input || value === null) return;
      if (input.type === "checkbox") input.checked = value === "1";
      else if (input.tagName === "SELECT") {
        // only a value the select offers; an unknown one leaves the filter off
        if ([].some.call(input.options, function (o) { return o.value === value; })) input.value = value;
      } else input.value = value;
    });
  }

  function matches(data, state) {
    if (state.year && data.year !== state.year) return false;
    if (state.venue && data.venue !== state.venue) return false;
    if (state.node && data.nodes.indexOf(state.node) < 0) return false;
    if (state.tag && data.tags.indexOf(state.tag) < 0) return false;
    if (state.code && !data.code) return false;
    if (state.baseline && !data.baseline) return false;
    if (state.q) {
      var words = state.q.toLowerCase().split(/\s+/);
      for (var i = 0; i < words.length; i++) if (data.text.indexOf(words[i]) < 0) return false;
    }
    return true;
  }

  function html(cell) {
    return cell.getData()[cell.getField() + "Html"];
  }

  function setup(box) {
    var form = box.querySelector("form.atlas-filters");
    var tableEl = box.querySelector("table");
    var count = box.querySelector(".atlas-shown");
    var total = tableEl.tBodies[0].rows.length;
    var data = [].map.call(tableEl.tBodies[0].rows, rowData);
    var params = new URLSearchParams(window.location.search);
    writeForm(form, params);
    var sort = params.get("sort");
    var dir = params.get("dir") === "asc" ? "asc" : "desc";
    var host = document.createElement("div");
    host.className = "atlas-tabulator";
    tableEl.replaceWith(host);
    form.hidden = false;

    var table = new Tabulator(host, {
      data: data,
      index: "id",
      layout: "fitColumns",
      renderVertical: "basic",
      responsiveLayout: "hide",
      headerSortClickElement: "header",
      columns: [
        { title: "Paper", field: "title", formatter: html, sorter: "string", widthGrow: 5, minWidth: 220, responsive: 0 },
        { title: "Authors", field: "authors", sorter: "string", widthGrow: 2, minWidth: 110, responsive: 2 },
        { title: "Year", field: "date", formatter: function (c) { return c.getValue().slice(0, 4); }, sorter: "string", width: 76, responsive: 1 },
        { title: "Venue", field: "venue", sorter: "string", widthGrow: 2, minWidth: 90, responsive: 3 },
        { title: "Code", field: "code", formatter: html, sorter: "number", width: 84, responsive: 4 },
        { title: "Tags", field: "tags", formatter: function (c) { return c.getData().tagsHtml; }, sorter: function (a, b) { return a.join(" ").localeCompare(b.join(" ")); }, widthGrow: 3, minWidth: 140, responsive: 5 },
      ],
    });

    function syncUrl() {
      var query = new URLSearchParams(readState(form));
      var sorters = table.getSorters();
      if (sorters.length) {
        query.set("sort", sorters[0].field);
        query.set("dir", sorters[0].dir);
      }
      var search = query.toString();
      history.replaceState(null, "", window.location.pathname + (search ? "?" + search : "") + window.location.hash);
    }

    function applyFilter() {
      table.setFilter(matches, readState(form));
    }

    table.on("tableBuilt", function () {
      if (sort && table.getColumn(sort)) table.setSort(sort, dir);
      applyFilter();
      table.on("dataSorted", syncUrl);
    });
    table.on("dataFiltered", function (filters, rows) {
      count.textContent = rows.length === total ? "all " + total + " papers" : rows.length + " of " + total + " papers";
    });
    form.addEventListener("input", function () { applyFilter(); syncUrl(); });
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    form.addEventListener("reset", function () {
      setTimeout(function () { table.clearSort(); applyFilter(); syncUrl(); }, 0);  // after the form is cleared
    });
  }

  document.querySelectorAll(".atlas-papers[data-filters]").forEach(setup);
})();
