"""The review list's long exports run as jobs in the web UI: the list offers them, starting
one answers its page at once (progress bar, refreshed without JavaScript), the file is
downloaded when done, and no one else reaches the job or its file."""

from __future__ import annotations

import io
import threading
import zipfile

from openpyxl import load_workbook

from tests.web.conftest import review_instance

LIST = "/projects/{p}/forms/review/submissions"


def finish(job_url: str) -> None:
    """Wait for the job's thread (its name carries the job's id): no sleep, no timing."""
    job_id = job_url.rstrip("/").rsplit("/", 1)[1]
    for thread in threading.enumerate():
        if thread.name == f"export-{job_id}":
            thread.join()


def test_an_export_job_shows_its_progress_and_gives_its_file_to_its_starter_only(
    login_as, review_form, collect, project
):
    for n, ward in enumerate(("00004", "00008", "00008")):
        assert collect.submit(review_instance(f"uuid:j{n}", ma_xa=ward))[-1].status == 201
    supervisor = login_as("supervisor")
    base = LIST.format(p=project.id)
    page = supervisor.get(f"{base}?ward=00008").text
    assert f'action="{base}/exports?ward=00008"' in page
    started = supervisor.post(f"{base}/exports?ward=00008", {"kind": "xlsx", "labels": "vi"})
    assert started.status_code == 303
    job_url = started.headers["Location"]
    finish(job_url)
    done = supervisor.get(job_url)
    assert done.status_code == 200
    assert 'id="export-download"' in done.text
    assert "Tải tệp đã xuất" in done.text  # the page speaks Vietnamese first
    assert 'http-equiv="refresh"' not in done.text  # nothing left to wait for
    assert supervisor.get(f"{job_url}.json").json == {
        "state": "done",
        "done": 2,
        "total": 2,
        "percent": 100,
    }
    file = supervisor.get(f"{job_url}/file")
    assert file.headers["Content-Disposition"].startswith('attachment; filename="review.xlsx"')
    book = load_workbook(io.BytesIO(file.data))
    assert book["review"].max_row == 3  # the header and the list's two submissions

    other = login_as("supervisor")
    assert other.get(job_url).status_code == 404
    assert other.get(f"{job_url}/file").status_code == 404
    # the starter's own job, named under another form's address: not found either
    elsewhere = job_url.replace("/forms/review/", "/forms/other/")
    assert supervisor.get(f"{elsewhere}/file").status_code == 404

    zipped = supervisor.post(f"{base}/exports", {"kind": "csv.zip", "labels": "codes"})
    finish(zipped.headers["Location"])
    archive = zipfile.ZipFile(io.BytesIO(supervisor.get(f"{zipped.headers['Location']}/file").data))
    assert archive.namelist()[:2] == ["review.csv", "review-lan_gap.csv"]

    refused = supervisor.post(f"{base}/exports", {"kind": "pdf"})
    assert refused.status_code == 400
