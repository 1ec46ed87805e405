/* Boards (xrm_core/ui/boards.py): drag a card to another column with a mouse, pen or finger.
 *
 * Pointer events rather than HTML5 drag-and-drop: they work the same for touch and can be driven
 * by WebDriver. On release over another column the card lands there at once and the move is
 * POSTed to the board's move URL, the same request the card's "Move to" form sends without this
 * script. The server answers with the board as it now is, which replaces this one; a refused
 * move (problem+json) puts the card back where it was and shows the reason.
 */
(function () {
  "use strict";
  if (window.xrmBoardLoaded) { return; }  // the script is included with every board on a page
  window.xrmBoardLoaded = true;

  // Pixels a press must travel before it is a drag: a click on the card's link stays a click.
  var THRESHOLD = 6;
  var drag = null;

  function columnAt(x, y, board) {
    var under = document.elementFromPoint(x, y);
    var column = under && under.closest("[data-board-column]");
    return column && column.closest("[data-board]") === board ? column : null;
  }

  function mark(column) {
    if (drag.target === column) { return; }
    if (drag.target) { drag.target.classList.remove("board-drop-target"); }
    if (column && column !== drag.from) { column.classList.add("board-drop-target"); }
    drag.target = column;
  }

  function release() {
    var done = drag;
    drag = null;
    done.card.classList.remove("board-dragging");
    done.card.style.transform = "";
    if (done.target) { done.target.classList.remove("board-drop-target"); }
    return done;
  }

  // A drag that started on the card's link must not open it when the button is released.
  function swallowClick() {
    function swallow(event) { event.preventDefault(); event.stopPropagation(); }
    document.addEventListener("click", swallow, {capture: true, once: true});
    setTimeout(function () { document.removeEventListener("click", swallow, {capture: true}); }, 0);
  }

  function putBack(done, message) {
    done.from.querySelector("[data-board-cards]").insertBefore(done.card, done.next);
    done.board.removeAttribute("aria-busy");
    var refusal = done.board.querySelector("[data-board-refusal]");
    done.board.querySelector("[data-board-notice]").textContent = "";
    refusal.textContent = message;
    refusal.hidden = false;
  }

  function send(done) {
    var board = done.board;
    var body = new FormData();
    body.append("card", done.card.getAttribute("data-board-card"));
    body.append("column", done.target.getAttribute("data-board-column"));
    board.setAttribute("aria-busy", "true");
    fetch(board.getAttribute("data-move-url"), {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": board.getAttribute("data-csrf-token"), "X-XRM-Board": "fragment", "Accept": "text/html"}
    }).then(function (response) {
      if (response.ok) {
        return response.text().then(function (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html;
          board.replaceWith(holder.querySelector("[data-board]"));
        });
      }
      return response.json().catch(function () { return {}; }).then(function (problem) {
        putBack(done, problem.detail || problem.title || response.statusText);
      });
    }).catch(function () {
      putBack(done, board.getAttribute("data-unreachable"));
    });
  }

  document.addEventListener("pointerdown", function (event) {
    var card = event.target.closest("[data-board-card][data-draggable]");
    if (drag || !card || event.button !== 0 || card.closest("[data-board][aria-busy]") ||
        event.target.closest("button, input, select, label, textarea")) {
      return;
    }
    drag = {card: card, board: card.closest("[data-board]"), from: card.closest("[data-board-column]"),
            next: card.nextElementSibling, x: event.clientX, y: event.clientY, moving: false, target: null};
  });

  document.addEventListener("pointermove", function (event) {
    if (!drag) { return; }
    var dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (!drag.moving) {
      if (Math.abs(dx) + Math.abs(dy) < THRESHOLD) { return; }
      drag.moving = true;
      drag.card.classList.add("board-dragging");
    }
    event.preventDefault();
    drag.card.style.transform = "translate(" + dx + "px, " + dy + "px)";
    mark(columnAt(event.clientX, event.clientY, drag.board));
  });

  document.addEventListener("pointerup", function () {
    if (!drag) { return; }
    var done = release();
    if (done.moving) { swallowClick(); }
    if (!done.moving || !done.target || done.target === done.from) { return; }
    done.target.querySelector("[data-board-cards]").appendChild(done.card);
    send(done);
  });

  document.addEventListener("pointercancel", function () {
    if (drag) { release(); }
  });
}());
