// The export page's progress bar, moved without reloading the page; without JavaScript the
// page refreshes itself (its meta refresh) and shows the same.
(function () {
  var box = document.getElementById("export-job");
  if (!box || box.dataset.state !== "running") return;
  var bar = document.getElementById("export-progress");
  var count = document.getElementById("export-count");
  function poll() {
    fetch(box.dataset.progressUrl, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        bar.value = job.percent;
        count.textContent = job.done.toLocaleString("vi-VN") + " / " + job.total.toLocaleString("vi-VN");
        if (job.state !== "running") window.location.reload();
        else window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
