"""Build xlsforms/wards.csv, the commune/ward choices the forms use (select_one_from_file).

Codes are the official two-level units of QĐ 19/2025/QĐ-TTg (province 2 digits, commune
5 digits), read from the data file of the MIT-licensed `vietnamadminunits` 1.0.4 package
(official NSO data; domain.md section 3). Run it by hand when the official list changes:

    pip download vietnamadminunits==1.0.4 --no-deps -d /tmp/vau && cd /tmp/vau && unzip -o *.whl
    python xlsforms/build_wards.py /tmp/vau/vietnamadminunits/data/dataset.db

Columns: name (ward code), label (its name), tinh (province code, the choice_filter),
loai (phuong / xa / dac_khu), cum (a programme cluster, edited by hand, kept across builds).
"""

from __future__ import annotations

import csv
import sqlite3
import sys
from pathlib import Path

PROVINCES = ("01", "66")  # Hà Nội, Đắk Lắk: where the programmes run
OUT = Path(__file__).resolve().parent / "wards.csv"
KINDS = {"Phường": "phuong", "Xã": "xa", "Đặc khu": "dac_khu"}


def main(database: str) -> None:
    clusters = {}
    if OUT.exists():
        with OUT.open(encoding="utf-8") as f:
            clusters = {row["name"]: row.get("cum", "") for row in csv.DictReader(f)}
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT wardCode, ward, provinceCode, wardType FROM admin_units "  # noqa: S608 (placeholders only)
            f"WHERE provinceCode IN ({','.join('?' * len(PROVINCES))}) "
            "ORDER BY provinceCode, wardCode",
            PROVINCES,
        ).fetchall()
    with OUT.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["name", "label", "tinh", "loai", "cum"])
        for code, name, province, kind in rows:
            writer.writerow([code, name, province, KINDS.get(kind, kind), clusters.get(code, "")])
    print(f"{len(rows)} units written to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
