"""The demo's field reports as data: which agency handles what, where problems are reported, and forty
reports with the script each follows (closed, late, rejected, in progress, overdue, ...)."""

from __future__ import annotations

from dataclasses import dataclass

# category -> the demo agency that handles it in the commune; "khac" (other) stays with the operators.
ROUTES = {
    "an-ninh": "cong-an",
    "giao-thong": "cong-an",
    "rac-thai": "htx-moi-truong",
    "o-nhiem": "htx-moi-truong",
    "ngap-ung": "phong-kinh-te",
    "duong-hu-hong": "phong-kinh-te",
    "den-chieu-sang": "phong-kinh-te",
    "cay-xanh": "phong-kinh-te",
    "lan-chiem": "doi-qlttdt",
    "xay-dung": "doi-qlttdt",
    "an-toan-thuc-pham": "phong-vhxh",
    "truong-hoc": "phong-vhxh",
    "dich-vu-cong": "ttphvhcc",
}
# Where each kind of problem is reported: near an asset of this type.
PLACE = {
    "rac-thai": "waste_point",
    "o-nhiem": "waste_point",
    "an-toan-thuc-pham": "kitchen",
    "truong-hoc": "school",
    "giao-thong": "camera",
    "an-ninh": "camera",
    "lan-chiem": "camera",
}
AGENCY_USERS = {"cong-an": "congan", "phong-vhxh": "truonghoc"}


@dataclass(frozen=True)
class DemoReport:
    """One report and its `script`: how far it got by now.

    closed (rated, satisfied), late (closed after falling overdue), rejected, resolved (waiting for the
    rating), reopened (rated, not satisfied), in_progress, assigned, warning (near its deadline), overdue,
    received (no routing rule: the operators' triage) or merged (a duplicate of an in-progress report).
    """

    category: str
    description: str
    answer: str
    script: str
    ago: float = 0.0  # working hours between the last step and now (closed, late, rejected)


REPORTS: tuple[DemoReport, ...] = (
    DemoReport(
        "rac-thai",
        "Rác thải sinh hoạt bị đổ trộm thành đống lớn cạnh điểm tập kết, bốc mùi hôi thối mấy ngày nay.",
        "HTX Môi trường đã thu gom toàn bộ rác, phun khử mùi và lắp biển cấm đổ rác tại điểm này.",
        "closed",
        70,
    ),
    DemoReport(
        "den-chieu-sang",
        "Ba cột đèn chiếu sáng liền nhau bị tắt từ tuần trước, buổi tối đoạn đường rất tối, dễ tai nạn.",
        "Phòng Kinh tế đã phối hợp đơn vị duy trì thay bóng và sửa tủ điện, đèn đã sáng trở lại.",
        "closed",
        64,
    ),
    DemoReport(
        "duong-hu-hong",
        "Mặt đường xuất hiện ổ gà lớn sâu khoảng 20 cm, xe máy đi qua ban đêm rất nguy hiểm.",
        "Đã vá tạm ổ gà bằng bê tông nhựa nguội, đưa vào kế hoạch sửa chữa thường xuyên quý này.",
        "closed",
        58,
    ),
    DemoReport(
        "lan-chiem",
        "Nhiều hộ kinh doanh bày hàng hóa, để xe chiếm hết vỉa hè, người đi bộ phải xuống lòng đường.",
        "Đội Quản lý trật tự đô thị đã kiểm tra, nhắc nhở 6 hộ, lập biên bản 2 trường hợp tái phạm.",
        "closed",
        54,
    ),
    DemoReport(
        "an-ninh",
        "Nhóm thanh niên tụ tập, nẹt pô, gây ồn ào sau 23 giờ đêm nhiều ngày liền.",
        "Công an xã đã tăng cường tuần tra ban đêm, mời 4 thanh niên lên làm việc và nhắc nhở gia đình.",
        "closed",
        50,
    ),
    DemoReport(
        "truong-hoc",
        "Cổng trường giờ tan học xe đỗ tràn ra đường gây ùn tắc, không có người phân luồng.",
        "Phòng VH-XH đã đề nghị nhà trường bố trí bảo vệ phân luồng, Công an xã hỗ trợ giờ cao điểm.",
        "closed",
        46,
    ),
    DemoReport(
        "ngap-ung",
        "Sau cơn mưa chiều qua đoạn đường ngập sâu 30-40 cm, cống thoát nước bị rác bịt kín.",
        "Đã nạo vét và thông cống, thu gom rác chắn song; nước đã rút hết sau 2 giờ.",
        "closed",
        42,
    ),
    DemoReport(
        "an-toan-thuc-pham",
        "Bếp ăn bán trú có biểu hiện mất vệ sinh, thức ăn để không có nắp đậy, nhiều ruồi.",
        "Đoàn kiểm tra liên ngành đã kiểm tra bếp ăn, yêu cầu khắc phục và kiểm tra lại đạt yêu cầu.",
        "closed",
        38,
    ),
    DemoReport(
        "cay-xanh",
        "Cây xà cừ lớn bị nghiêng sau mưa bão, rễ bật lên, có nguy cơ đổ vào nhà dân.",
        "Đã cắt tỉa tán, chằng chống cây; sẽ thay thế cây mới trong đợt trồng cây tới.",
        "closed",
        34,
    ),
    DemoReport(
        "giao-thong",
        "Biển báo giao thông tại ngã ba bị đổ, lái xe không biết đường ưu tiên, suýt va chạm.",
        "Công an xã đã báo cáo và phối hợp đơn vị quản lý đường dựng lại biển báo ngay trong ngày.",
        "closed",
        30,
    ),
    DemoReport(
        "rac-thai",
        "Xe thu gom rác không đến hai ngày nay, rác tràn ra cả lòng đường.",
        "HTX Môi trường đã bổ sung chuyến thu gom và điều chỉnh lịch cho tuyến này.",
        "closed",
        26,
    ),
    DemoReport(
        "den-chieu-sang",
        "Đèn đường nhấp nháy liên tục cả đêm, gây khó chịu cho các hộ xung quanh.",
        "Đã thay bộ điều khiển của đèn, đèn hoạt động bình thường.",
        "closed",
        22,
    ),
    DemoReport(
        "dich-vu-cong",
        "Nộp hồ sơ cấp bản sao trích lục khai sinh trực tuyến đã quá hẹn nhưng chưa nhận được kết quả.",
        "Trung tâm Phục vụ hành chính công đã trả kết quả, xin lỗi người dân vì chậm do lỗi kết nối.",
        "closed",
        18,
    ),
    DemoReport(
        "o-nhiem",
        "Xưởng tái chế nhựa đốt rác thải vào buổi tối, khói đen và mùi khét khắp khu dân cư.",
        "Đã kiểm tra, lập biên bản xưởng tái chế, yêu cầu dừng đốt và báo cáo lên cấp trên xử lý.",
        "closed",
        14,
    ),
    DemoReport(
        "lan-chiem",
        "Quán nước dựng mái che lấn ra lòng đường khoảng 2 mét.",
        "Chủ quán đã tự tháo dỡ mái che sau khi Đội Quản lý trật tự đô thị nhắc nhở.",
        "closed",
        10,
    ),
    DemoReport(
        "duong-hu-hong",
        "Nắp hố ga bị vỡ giữa đường, rất nguy hiểm cho người đi xe máy.",
        "Đã thay nắp hố ga mới, đặt cảnh báo trong lúc thi công.",
        "late",
        44,
    ),
    DemoReport(
        "xay-dung",
        "Một hộ đang xây thêm tầng 4 không có biển báo cấp phép xây dựng.",
        "Đội Quản lý trật tự đô thị đã kiểm tra, hộ dân có giấy phép nhưng chưa treo biển; đã yêu cầu treo.",
        "late",
        20,
    ),
    DemoReport(
        "an-ninh",
        "Nghi có đối tượng lạ đi xe máy không biển số dò xét các nhà trong ngõ.",
        "",
        "rejected",
        36,
    ),
    DemoReport(
        "rac-thai",
        "Rác thải xây dựng đổ trộm ven mương thoát nước.",
        "HTX Môi trường đã thu dọn phế thải, Công an xã đang xác minh đối tượng đổ trộm qua camera.",
        "resolved",
    ),
    DemoReport(
        "ngap-ung",
        "Cống thoát nước trước cửa nhà bị tắc, nước thải tràn lên mặt đường.",
        "Đã thông cống và nạo vét bùn đoạn cống dài 15 mét.",
        "resolved",
    ),
    DemoReport(
        "den-chieu-sang",
        "Đèn chiếu sáng trong ngõ vẫn chưa sáng dù đã báo từ tuần trước.",
        "Đã kiểm tra đường dây cấp điện và thay bóng đèn mới.",
        "reopened",
    ),
    DemoReport(
        "duong-hu-hong",
        "Đoạn vỉa hè bị sụt lún, gạch lát bong tróc dài khoảng 10 mét.",
        "",
        "in_progress",
    ),
    DemoReport(
        "xay-dung", "Công trình xây dựng để vật liệu tràn ra đường, không che chắn bụi.", "", "in_progress"
    ),
    DemoReport(
        "o-nhiem", "Nước thải từ cơ sở chế biến thực phẩm xả thẳng ra mương, bốc mùi.", "", "in_progress"
    ),
    DemoReport(
        "truong-hoc",
        "Mái tôn nhà xe của trường bị thủng nhiều chỗ, trời mưa học sinh bị ướt.",
        "",
        "in_progress",
    ),
    DemoReport(
        "an-toan-thuc-pham",
        "Quán ăn trước cổng trường bán đồ chiên rán không rõ nguồn gốc.",
        "",
        "in_progress",
    ),
    DemoReport(
        "cay-xanh", "Cành cây lớn gãy treo lơ lửng trên đường đi, có thể rơi bất cứ lúc nào.", "", "assigned"
    ),
    DemoReport("giao-thong", "Đèn tín hiệu giao thông tại ngã tư bị hỏng, chỉ nháy vàng.", "", "assigned"),
    DemoReport("lan-chiem", "Bãi trông giữ xe tự phát chiếm dụng một nửa lòng đường.", "", "assigned"),
    DemoReport("dich-vu-cong", "Cổng dịch vụ công báo lỗi khi nộp hồ sơ đăng ký thường trú.", "", "assigned"),
    DemoReport("rac-thai", "Thùng rác công cộng bị vỡ, rác vương vãi ra xung quanh.", "", "assigned"),
    DemoReport("an-ninh", "Có tiếng cãi vã, xô xát tại quán nhậu đầu ngõ.", "", "warning"),
    DemoReport("ngap-ung", "Nước ngập tràn vào nhà dân sau mưa lớn, đề nghị bơm tiêu nước.", "", "overdue"),
    DemoReport("khac", "Chó thả rông không rọ mõm trong khu dân cư, trẻ em sợ hãi.", "", "received"),
    DemoReport("khac", "Loa phát thanh của thôn bị rè, không nghe rõ thông báo.", "", "received"),
    DemoReport("o-nhiem", "Tiếng ồn từ xưởng cơ khí hoạt động đến khuya.", "", "assigned"),
    DemoReport("duong-hu-hong", "Ổ gà mới xuất hiện trên đường liên thôn sau đợt mưa.", "", "assigned"),
    DemoReport(
        "khac",
        "Xe ô tô đón học sinh đỗ dưới lòng đường giờ tan học, đề nghị có người nhắc nhở.",
        "",
        "received",
    ),
    DemoReport("cay-xanh", "Cây xanh che khuất biển báo giao thông ở khúc cua.", "", "in_progress"),
    DemoReport(
        "o-nhiem", "Mương sau cơ sở chế biến thực phẩm nước đen, mùi hôi nồng nặc cả xóm.", "", "merged"
    ),
)
NAMES = ("Nguyễn Văn Bình", "Trần Thị Hoa", "Lê Minh Đức", "Phạm Thu Trang", "Hoàng Văn Nam", "Vũ Thị Lan")
