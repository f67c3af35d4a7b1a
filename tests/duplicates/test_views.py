"""The two records of a pair in words: the registration form's questions as names, its
choice labels as values, ward and province names, dates as dd/mm/yyyy; never a raw code."""

from __future__ import annotations

from types import SimpleNamespace

from server.services.duplicate_views import side_by_side

A = SimpleNamespace(
    uuid="a",
    data={"uic": "LAHU1150390", "gioi": "1", "nam_sinh": "1990", "ma_tinh": "01",
          "ma_xa": "00118", "mo_hinh": "tnv", "nhom": "sau_cai sd_mt", "trang_thai": "mo",
          "ngay_dk": "2026-01-05"},
)  # fmt: skip
B = SimpleNamespace(
    uuid="b",
    data={"uic": "HULA1000090", "gioi": "1", "nam_sinh": "1990", "ma_tinh": "01",
          "ma_xa": "00004", "mo_hinh": "tnv", "nhom": "sd_mt", "trang_thai": "tam_dung"},
)  # fmt: skip


def test_the_records_side_by_side_in_vietnamese():
    rows = {name: (left, right, differs) for name, left, right, differs in side_by_side(A, B, "vi")}
    assert rows["Giới tính khi sinh"] == ("Nam", "Nam", False)
    assert rows["Ngày sinh"] == ("15/03/1990", "—", True)
    assert rows["Năm sinh"] == ("1990", "1990", False)
    assert rows["Xã/Phường/Đặc khu"] == ("Phường Bồ Đề", "Phường Ba Đình", True)
    assert rows["Tỉnh/Thành phố"] == ("Hà Nội", "Hà Nội", False)
    assert rows["Mô hình"][0] == "Tình nguyện viên giúp đỡ người sau cai"
    assert rows["Nhóm khách hàng"][0] == "Người sau cai nghiện, Người sử dụng ma túy"
    assert rows["Trạng thái"] == ("Đang theo dõi", "Tạm dừng", True)
    assert rows["Ngày đăng ký"] == ("05/01/2026", "—", True)


def test_the_records_side_by_side_in_english_without_codes():
    rows = side_by_side(A, B, "en")
    names = [r[0] for r in rows]
    assert names[:3] == ["Client code (UIC)", "Sex at birth", "Date of birth"]
    values = {v for r in rows for v in r[1:3]}
    assert {"Male", "Paused", "Open", "Volunteer"} <= values
    for code in ("00118", "tnv", "sd_mt", "tam_dung", "mo"):
        assert code not in values
