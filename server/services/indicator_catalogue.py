"""The indicator catalogue: every code the dashboard, the report and the API answer, in order,
with its name in the programme's own words (Vietnamese first, English second), its unit,
whether it counts people (such counts are suppressed as "<5" for callers who may not see small
numbers) and whether a plan target can be entered for it.

The codes follow /work/shared/domain.md section 7; docs/indicators.md gives each formula as
implemented. Codes with a colon are a part of the indicator before the colon: "I4:xn_hiv" (people
referred to HIV testing), "I7:tested", "I14:amount". Pure data: no database, no Flask.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The services of the ``dich_vu`` choice list of xlsforms/f3_chuyen_gui.xlsx, in its order,
#: with the form's own labels (Vietnamese, English). tests/indicators keeps this in step with
#: the form.
SERVICES: tuple[tuple[str, str, str], ...] = (
    ("xn_hiv", "Xét nghiệm HIV", "HIV testing"),
    ("prep", "PrEP", "PrEP"),
    ("arv", "Điều trị ARV", "HIV treatment"),
    ("mmt", "Điều trị thay thế (methadone/buprenorphine)", "Opioid agonist therapy"),
    ("cat_con", "Cắt cơn, giải độc", "Detox"),
    ("cai_nghien", "Cai nghiện tự nguyện", "Voluntary rehab"),
    ("tam_than", "Sức khỏe tâm thần", "Mental health"),
    ("kham_sk", "Khám sức khỏe tổng quát", "General medical exam"),
    ("xn_khac", "Xét nghiệm khác", "Other lab tests"),
    ("viem_gan", "Viêm gan B, C", "Hepatitis B/C"),
    ("lao", "Sàng lọc, điều trị lao", "TB"),
    ("sti", "Khám, điều trị STI", "STI care"),
    ("phap_ly", "Trợ giúp pháp lý", "Legal aid"),
    ("hoc_nghe", "Học nghề", "Vocational training"),
    ("viec_lam", "Giới thiệu việc làm", "Job placement"),
    ("vay_von", "Vay vốn", "Loan"),
    ("hoc_van_hoa", "Hỗ trợ học văn hóa", "Schooling support"),
    ("bhyt", "Hỗ trợ làm thẻ BHYT", "Health-insurance card"),
    ("giay_to", "Giấy tờ tùy thân, cư trú", "ID and residence papers"),
    ("ho_tro_nn", "Hỗ trợ nạn nhân bị mua bán", "Trafficking-survivor support"),
    ("tro_giup_xh", "Trợ giúp xã hội", "Social assistance"),
    ("khac", "Khác", "Other"),
)
SERVICE_CODES: tuple[str, ...] = tuple(s for s, _, _ in SERVICES)

#: Combined services: "addiction treatment" as the seed report counts it (87 people) is detox
#: plus voluntary rehab (domain.md section 7, I4).
COMBINED_SERVICES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "dieu_tri_nghien": (
        "Điều trị nghiện (cắt cơn, cai nghiện)",
        "Addiction treatment (detox, voluntary rehab)",
        ("cat_con", "cai_nghien"),
    ),
}

#: The services the 70 % indicator (I6) counts: the Hanoi plan's list (domain decision 1);
#: voluntary rehab (cai_nghien) and STI care are not in it.
T70_SERVICES: frozenset[str] = frozenset(
    {"cat_con", "tam_than", "mmt", "kham_sk", "xn_hiv", "xn_khac", "viem_gan", "lao", "arv"}
)


@dataclass(frozen=True, slots=True)
class Indicator:
    code: str
    name_vi: str
    name_en: str
    #: "people", "events", "referrals", "percent", "million_vnd", "sessions", "attendances",
    #: "volunteers", "ratio", "pairs", "clients"
    unit: str
    #: True when the value (or, for a percent, its numerator and denominator) counts people:
    #: suppressed as "<5" for callers without permissions.sees_small_numbers.
    people: bool
    #: True when a plan target can be entered for it (targets.planned reads it by code).
    targetable: bool
    #: The programme models (mo_hinh) whose report sheet shows it first; () = every model.
    model_hint: tuple[str, ...] = ()

    @property
    def base(self) -> str:
        """The indicator the code belongs to: "I4" for "I4:xn_hiv"."""
        return self.code.split(":", 1)[0]

    @property
    def is_rate(self) -> bool:
        return self.unit == "percent"


_REFERRAL_MODELS = ("tiep_can", "canh_sat", "diem_tv")
_POST_REHAB_MODELS = ("tnv", "b93", "qlsc")


def _build() -> list[Indicator]:
    out: list[Indicator] = []

    def add(code, vi, en, unit, people, targetable, models=()):
        out.append(Indicator(code, vi, en, unit, people, targetable, tuple(models)))

    add(
        "I1",
        "Số người được tư vấn, chuyển gửi",
        "People counselled or referred",
        "people",
        True,
        True,
        _REFERRAL_MODELS,
    )
    add(
        "I1a",
        "% đạt kế hoạch (số người được tư vấn, chuyển gửi)",
        "Achievement against the plan (people counselled or referred)",
        "percent",
        False,
        False,
        _REFERRAL_MODELS,
    )
    add("I2", "Lượt tiếp cận", "Contacts", "events", False, True, _REFERRAL_MODELS)
    add(
        "I2:anonymous",
        "Lượt tiếp cận ẩn danh",
        "Anonymous contacts",
        "events",
        False,
        True,
        _REFERRAL_MODELS,
    )
    add(
        "I3",
        "Khách hàng mới đăng ký",
        "Newly registered clients",
        "people",
        True,
        True,
        _REFERRAL_MODELS,
    )
    add(
        "I4",
        "Số người được chuyển gửi (mọi dịch vụ)",
        "People referred (any service)",
        "people",
        True,
        True,
        _REFERRAL_MODELS,
    )
    # each service of F3, then the combined ones (addiction treatment = detox + rehab)
    per_service = [*SERVICES, *((s, vi, en) for s, (vi, en, _) in COMBINED_SERVICES.items())]
    for s, vi, en in per_service:
        add(
            f"I4:{s}",
            f"Số người được chuyển gửi: {vi}",
            f"People referred: {en}",
            "people",
            True,
            True,
            _REFERRAL_MODELS,
        )
    add(
        "I5",
        "Tỷ lệ chuyển gửi thành công (mọi dịch vụ)",
        "Referral completion (any service)",
        "percent",
        True,
        False,
        _REFERRAL_MODELS,
    )
    for s, vi, en in per_service:
        add(
            f"I5:{s}",
            f"Tỷ lệ chuyển gửi thành công: {vi}",
            f"Referral completion: {en}",
            "percent",
            True,
            False,
            _REFERRAL_MODELS,
        )
    add(
        "I6",
        "Tỷ lệ người được chuyển gửi nhận ít nhất 1 dịch vụ (chỉ tiêu 70 %)",
        "People referred who received at least one listed service (target 70 %)",
        "percent",
        True,
        True,
        _REFERRAL_MODELS,
    )
    add(
        "I7",
        "Chuỗi xét nghiệm HIV: được chuyển gửi xét nghiệm",
        "HIV cascade: referred to testing",
        "people",
        True,
        True,
        _REFERRAL_MODELS,
    )
    add(
        "I7:tested",
        "Chuỗi xét nghiệm HIV: đã xét nghiệm",
        "HIV cascade: tested",
        "people",
        True,
        True,
        _REFERRAL_MODELS,
    )
    add(
        "I7:positive",
        "Chuỗi xét nghiệm HIV: dương tính (đồng ý chia sẻ)",
        "HIV cascade: positive (result shared)",
        "people",
        True,
        False,
        _REFERRAL_MODELS,
    )
    add(
        "I7:linked",
        "Chuỗi xét nghiệm HIV: bắt đầu ARV trong 30 ngày",
        "HIV cascade: started ARV within 30 days",
        "people",
        True,
        False,
        _REFERRAL_MODELS,
    )
    add(
        "I7:not_shared",
        "Chuỗi xét nghiệm HIV: không chia sẻ kết quả",
        "HIV cascade: result not shared",
        "people",
        True,
        False,
        _REFERRAL_MODELS,
    )
    add("I8", "Số người bắt đầu PrEP", "PrEP initiations", "people", True, True, _REFERRAL_MODELS)
    add(
        "I9",
        "Số người bắt đầu điều trị methadone",
        "MMT initiations",
        "people",
        True,
        True,
        _REFERRAL_MODELS,
    )
    add(
        "I10",
        "Số người đang quản lý sau cai",
        "Post-rehab caseload",
        "people",
        True,
        True,
        _POST_REHAB_MODELS,
    )
    add(
        "I11",
        "Tỷ lệ người sau cai được thăm",
        "Visit coverage",
        "percent",
        True,
        False,
        _POST_REHAB_MODELS,
    )
    add("I11:visits", "Lượt thăm", "Home visits", "events", False, True, _POST_REHAB_MODELS)
    add(
        "I11:met",
        "Tỷ lệ lượt thăm gặp được người được hỗ trợ",
        "Visits where the person was met",
        "percent",
        False,
        False,
        _POST_REHAB_MODELS,
    )
    add(
        "I12",
        "Tỷ lệ tái sử dụng ma túy (tự báo)",
        "Self-reported drug use after rehab",
        "percent",
        True,
        False,
        _POST_REHAB_MODELS,
    )
    add(
        "I12:no_answer",
        "Số người không trả lời câu hỏi tái sử dụng",
        "People who did not answer the drug-use question",
        "people",
        True,
        False,
        _POST_REHAB_MODELS,
    )
    add(
        "I13",
        "Số người được hỗ trợ việc làm",
        "People helped into jobs",
        "people",
        True,
        True,
        _POST_REHAB_MODELS,
    )
    add(
        "I13:employed",
        "Số người đang có việc làm",
        "People employed now",
        "people",
        True,
        True,
        _POST_REHAB_MODELS,
    )
    add(
        "I14",
        "Số người được hỗ trợ vay vốn",
        "People given loans",
        "people",
        True,
        True,
        _POST_REHAB_MODELS,
    )
    add("I14:loans", "Số khoản vay", "Loans", "events", False, True, _POST_REHAB_MODELS)
    add(
        "I14:amount",
        "Tổng số tiền vay (triệu đồng)",
        "Loans total (million VND)",
        "million_vnd",
        False,
        True,
        _POST_REHAB_MODELS,
    )
    add(
        "I15",
        "Số người học nghề",
        "People in vocational training",
        "people",
        True,
        True,
        _POST_REHAB_MODELS,
    )
    add(
        "I15:completed",
        "Số người hoàn thành học nghề",
        "People who completed training",
        "people",
        True,
        True,
        _POST_REHAB_MODELS,
    )
    add(
        "I16",
        "Số người 12–dưới 18 tuổi được hỗ trợ học văn hóa",
        "Schooling support (aged 12 to under 18)",
        "people",
        True,
        True,
        _POST_REHAB_MODELS,
    )
    add(
        "I17",
        "Số người được hỗ trợ làm thẻ BHYT",
        "People helped to a health-insurance card",
        "people",
        True,
        True,
        _POST_REHAB_MODELS,
    )
    add(
        "I17:coverage",
        "Tỷ lệ khách hàng đang hoạt động có thẻ BHYT",
        "Active clients with a health-insurance card",
        "percent",
        True,
        False,
    )
    add(
        "I18",
        "Số buổi sinh hoạt nhóm, CLB",
        "Group and club sessions",
        "sessions",
        False,
        True,
        ("b93",),
    )
    add(
        "I18:attendances",
        "Lượt người tham gia sinh hoạt",
        "Session attendances",
        "attendances",
        False,
        True,
        ("b93",),
    )
    add(
        "I18:people",
        "Số người tham gia hoạt động xã hội",
        "People in social activities",
        "people",
        True,
        True,
        ("b93",),
    )
    add(
        "I19",
        "Mô hình cảnh sát: số người được công an giới thiệu",
        "Police model: people introduced by the police",
        "people",
        True,
        True,
        ("canh_sat",),
    )
    add(
        "I19:referred30",
        "Mô hình cảnh sát: tỷ lệ được chuyển gửi trong 30 ngày",
        "Police model: referred to a service within 30 days",
        "percent",
        True,
        False,
        ("canh_sat",),
    )
    add(
        "I20",
        "Số tình nguyện viên hoạt động",
        "Active volunteers",
        "volunteers",
        False,
        True,
        ("tnv",),
    )
    add(
        "I20:visits_per_volunteer",
        "Số lượt thăm bình quân mỗi tình nguyện viên",
        "Visits per volunteer",
        "ratio",
        False,
        False,
        ("tnv",),
    )
    add("DQ1", "Chuyển gửi quá hạn xác nhận", "Overdue referrals", "referrals", False, False)
    add(
        "DQ2",
        "Nghi trùng hồ sơ (cặp cùng mã UIC)",
        "Suspected duplicates (pairs sharing a UIC)",
        "pairs",
        False,
        False,
    )
    add(
        "DQ3",
        "Tỷ lệ phiếu nộp muộn (> 7 ngày)",
        "Late entry (over 7 days)",
        "percent",
        False,
        False,
    )
    add(
        "DQ4",
        "Khách hàng có mã xã lỗi thời",
        "Clients with a stale ward code",
        "clients",
        False,
        False,
    )
    return out


#: Every indicator, in the order the dashboard and the report show them.
CATALOGUE: list[Indicator] = _build()
BY_CODE: dict[str, Indicator] = {i.code: i for i in CATALOGUE}


def is_known(code: str) -> bool:
    return code in BY_CODE


def get(code: str) -> Indicator:
    """The entry for ``code``; KeyError for an unknown code."""
    return BY_CODE[code]


def targetable_codes() -> list[str]:
    return [i.code for i in CATALOGUE if i.targetable]
