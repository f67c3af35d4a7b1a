"""The benchmarks still run (at a tiny size, on SQLite): a change that breaks them, such as
an app user that no longer receives the bench form, fails here rather than on the day the
numbers are needed. Their timings are not asserted; they go in the README."""

from __future__ import annotations

import re

from bench import review_list


def test_the_review_list_and_odata_bench_runs_every_case():
    lines = review_list.run("sqlite", 40)
    assert lines[0].startswith("sqlite: 40 submissions stored")
    cases = [name for name, _ in review_list.CASES] + [n for n, _, _ in review_list.ODATA_CASES]
    assert [line[2:20].strip() for line in lines[1:]] == cases
    first_page = lines[1]
    assert re.search(r"\(40 phiếu\)", first_page), first_page  # every submission was stored


def test_the_dashboard_bench_builds_a_programme_and_times_every_case():
    from bench import dashboard

    lines = dashboard.run("sqlite", 0.0005, requests=2)
    assert re.match(r"sqlite: 10 clients, \d+ submissions \(built in \d+ s\)", lines[0]), lines[0]
    names = [name for name, _, _ in dashboard.cases(1)]
    assert [line[2:26].strip() for line in lines[1:]] == names
    for line in lines[1:]:  # the API, the page and the XLSX answered every request
        assert re.search(r"median .* n=2\)", line), line


def test_the_ingest_bench_measures_the_server_and_the_bare_endpoint_beside_it():
    from bench import ingest

    line = ingest.run("sqlite", 2, 0, 20, 1, 1, entities=True)
    # the server stored every POST and made every household (run() fails loudly otherwise),
    # then the bare reference endpoint took the same load; the line gives both and the ratio
    assert re.search(r"sqlite +devices=2 .* entities +[\d.]+ sub/s .*\| bare +[\d.]+ sub/s", line)
    assert re.search(r"ratio \d\.\d\d", line), line


def test_the_ingest_profile_shows_the_hot_path(tmp_path):
    from bench import ingest

    text = ingest.profile("sqlite", 30, str(tmp_path / "ingest.html"))
    assert "ingest_submission" in text
    assert "read_submission" in text
    assert "<html" in (tmp_path / "ingest.html").read_text(encoding="utf-8").lower()


def test_the_client_page_bench_times_every_case():
    from bench import client_page

    lines = client_page.run("sqlite", 60, 600, 3)
    assert lines[0].startswith("sqlite: 60 clients, 600 submissions seeded")
    assert len(lines) == 1 + 2 + 4  # two service cases, two pages for two callers
    for line in lines[1:]:
        assert re.search(r"median +\d+\.\d ms, max +\d+\.\d ms", line), line
def test_the_worklists_bench_seeds_a_ward_and_times_every_page():
    from bench import worklists

    lines = worklists.run("sqlite", 60, requests=1)
    assert lines[0].startswith("sqlite: 60 clients in one ward"), lines[0]
    names = [name for name, _ in worklists.cases(1)]
    assert [line[2:32].strip() for line in lines[1:]] == names
    for line in lines[1:]:
        assert re.search(r"median +\d+ ms +p95 +\d+ ms +cpu +\d+ ms +\(n=1", line), line


def test_the_export_bench_seeds_and_times_the_csv_zip_and_the_xlsx():
    from bench import export

    lines = export.run("sqlite", 30)
    assert lines[0].startswith("sqlite: 30 submissions of 30 questions"), lines[0]
    assert [line.split()[0] for line in lines[1:]] == ["csv.zip", "xlsx"]
    for line in lines[1:]:
        assert re.search(r"[\d,]+ rows/s .* peak RSS +\d+ MB +file +\d+\.\d MB", line), line
