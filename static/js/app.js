// Small progressive enhancements. Every page works without them; htmx does the requests.
(function () {
  "use strict";

  // Styles that fold content away (the navigation menu) apply only once script is here to unfold it.
  document.documentElement.classList.add("js");

  // Main navigation: on narrow screens a "Menu" button shows and hides the links (CSS hides the
  // list while aria-expanded is "false"); Escape closes it and gives focus back to the button.
  function navigationMenu(toggle) {
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    if (!menu) return;
    function setOpen(open) { toggle.setAttribute("aria-expanded", open ? "true" : "false"); }
    function isOpen() { return toggle.getAttribute("aria-expanded") === "true"; }
    toggle.addEventListener("click", function () { setOpen(!isOpen()); });
    toggle.parentElement.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && isOpen()) {
        setOpen(false);
        toggle.focus();
      }
    });
    // A click elsewhere on the page closes the open menu.
    document.addEventListener("click", function (event) {
      if (isOpen() && !toggle.parentElement.contains(event.target)) setOpen(false);
    });
  }

  // Panels marked data-fold-on-small (Find a mentor's filters) start folded on a phone, so the
  // results come first; without script, or on a wide screen, they stay open.
  function foldOnSmallScreens(root) {
    if (!window.matchMedia || !window.matchMedia("(max-width: 48rem)").matches) return;
    root.querySelectorAll("details[data-fold-on-small]").forEach(function (panel) {
      panel.removeAttribute("open");
    });
  }

  // A long list of checkboxes (each input's data-filterable: the search box's label) gets a
  // search box that narrows the list as one types; ticked ones always stay in view. Without
  // script it is a plain list of checkboxes.
  function filterableChoices(root) {
    root.querySelectorAll("input[data-filterable]").forEach(function (input) {
      var list = input.closest("div[id]");
      if (!list || list.dataset.filterReady) return;
      list.dataset.filterReady = "1";
      var search = document.createElement("input");
      search.type = "search";
      search.className = "chip-filter";
      search.setAttribute("aria-label", input.dataset.filterable);
      search.placeholder = input.dataset.filterable + "…";
      list.parentNode.insertBefore(search, list);
      search.addEventListener("input", function () {
        var query = search.value.trim().toLowerCase();
        Array.prototype.forEach.call(list.children, function (option) {
          var box = option.querySelector("input");
          var text = option.textContent.trim().toLowerCase();
          option.hidden = !!query && !(box && box.checked) && text.indexOf(query) === -1;
        });
      });
    });
  }

  // Guess the time zone from the browser where a field asks for it and none was chosen yet.
  function guessTimezone(root) {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!zone) return;
    root.querySelectorAll("[data-guess-tz]").forEach(function (field) {
      if (field.tagName === "SELECT") {
        if (field.value === "UTC" && field.querySelector('option[value="' + zone + '"]')) field.value = zone;
      } else if (!field.value) {
        field.value = zone;
      }
    });
  }

  // Skill picker: a search result button adds a checked checkbox to the chosen list.
  function onSkillAdd(event) {
    var button = event.target.closest(".chip-add");
    if (!button) return;
    var chosen = document.getElementById("chosen-skills");
    if (!chosen) return;
    var id = button.dataset.skillId;
    var existing = chosen.querySelector('input[value="' + id + '"]');
    if (existing) {
      existing.checked = true;
    } else {
      var label = document.createElement("label");
      label.className = "chip";
      var box = document.createElement("input");
      box.type = "checkbox"; box.name = "skills"; box.value = id; box.checked = true;
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + button.dataset.skillName));
      chosen.appendChild(label);
    }
    button.closest("li").remove();
    var search = document.getElementById("skill-search");
    if (search) search.focus();
  }

  // The week grid: click or drag to paint cells; arrow keys move, Space toggles.
  function weekGrid(table) {
    var form = table.closest("form");
    var rows = Array.prototype.map.call(table.tBodies[0].rows, function (row) {
      return Array.prototype.slice.call(row.querySelectorAll("input.cell"));
    });
    var painting = null;
    var changed = false;

    function save() {
      if (changed && window.htmx) window.htmx.trigger(form, "grid-change");
      changed = false;
    }
    function setCell(cell, value) {
      if (cell.checked !== value) { cell.checked = value; changed = true; }
    }
    function focusCell(r, c) {
      r = Math.max(0, Math.min(rows.length - 1, r));
      c = Math.max(0, Math.min(rows[r].length - 1, c));
      rows.forEach(function (row) { row.forEach(function (cell) { cell.tabIndex = -1; }); });
      rows[r][c].tabIndex = 0;
      rows[r][c].focus();
    }
    // Roving tab stop: one cell of the grid is in the tab order.
    rows.forEach(function (row, r) {
      row.forEach(function (cell, c) {
        cell.dataset.r = r; cell.dataset.c = c;
        cell.tabIndex = (r === 0 && c === 0) ? 0 : -1;
      });
    });

    table.addEventListener("mousedown", function (event) {
      var cell = event.target.closest("input.cell");
      if (!cell || event.button !== 0) return;
      event.preventDefault();
      painting = !cell.checked;
      setCell(cell, painting);
      focusCell(+cell.dataset.r, +cell.dataset.c);
    });
    table.addEventListener("mouseover", function (event) {
      var cell = event.target.closest("input.cell");
      if (cell && painting !== null) setCell(cell, painting);
    });
    document.addEventListener("mouseup", function () {
      if (painting !== null) { painting = null; save(); }
    });
    // Mouse clicks were handled on mousedown; keyboard "clicks" (detail 0) toggle natively.
    table.addEventListener("click", function (event) {
      if (event.target.matches("input.cell") && event.detail > 0) event.preventDefault();
    });
    table.addEventListener("change", function (event) {
      if (event.target.matches("input.cell")) { changed = true; save(); }
    });
    table.addEventListener("keydown", function (event) {
      var cell = event.target.closest("input.cell");
      if (!cell) return;
      var r = +cell.dataset.r, c = +cell.dataset.c;
      var moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1],
                    Home: [0, -c], End: [0, 23 - c] };
      if (moves[event.key]) {
        event.preventDefault();
        focusCell(r + moves[event.key][0], c + moves[event.key][1]);
      } else if (event.key === "Enter") {
        event.preventDefault();
        setCell(cell, !cell.checked);
        save();
      }
    });
  }

  function init(root) {
    guessTimezone(root);
    filterableChoices(root);
    root.querySelectorAll("[data-week-grid]").forEach(weekGrid);
  }

  // Plain forms that undo something (data-confirm) ask first; htmx forms use hx-confirm.
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  document.addEventListener("click", onSkillAdd);
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".nav-toggle[aria-controls]").forEach(navigationMenu);
    foldOnSmallScreens(document);
    init(document);
  });
})();
