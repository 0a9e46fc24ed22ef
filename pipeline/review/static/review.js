// Keyboard shortcuts. Queue: j / k move, Enter opens. Referral: c confirm and
// save, d dismiss (then pick a reason: the reason list gets the focus), n next.
(function () {
  function typing(e) {
    var t = e.target.tagName;
    return t === "INPUT" || t === "TEXTAREA" || t === "SELECT" || e.ctrlKey || e.metaKey || e.altKey;
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.row"));
  var sel = rows.length ? 0 : -1;
  function mark() { rows.forEach(function (r, i) { r.classList.toggle("sel", i === sel); }); }
  rows.forEach(function (r) { r.addEventListener("click", function () { window.location = r.getAttribute("data-href"); }); });
  mark();
  document.addEventListener("keydown", function (e) {
    if (typing(e)) { return; }
    var form = document.getElementById("decision-form");
    if (rows.length && (e.key === "j" || e.key === "k")) {
      sel = Math.max(0, Math.min(rows.length - 1, sel + (e.key === "j" ? 1 : -1))); mark(); e.preventDefault();
    } else if (rows.length && e.key === "Enter" && sel >= 0) {
      window.location = rows[sel].getAttribute("data-href");
    } else if (form && e.key === "c") {
      document.getElementById("d-confirm").checked = true;
      if (document.getElementById("reviewer").value.trim()) { form.submit(); } else { document.getElementById("reviewer").focus(); }
    } else if (form && e.key === "d") {
      document.getElementById("d-dismiss").checked = true; document.getElementById("reason").focus(); e.preventDefault();
    } else if (e.key === "n") {
      var next = document.getElementById("next"); if (next) { window.location = next.href; }
    }
  });
})();
