"""A new staff user's morning in a real browser (Chromium, zh-CN, an office screen): sign in, import a GBK CSV
with Chinese headers and a Shapefile whose roads are new, each checked first and then imported, print a road
picked from the registry as they type, and meet a failed upload. Every page passes axe-core and shows no
message without Chinese (the suite's every_word_translated guard); screenshots go to test-artifacts/."""

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import func, select

from platesvc.store.database import db
from platesvc.store.models import Building, Plate, PlateStatus, Road, Role, ServicePoint
from tests.conftest import STAFF_PASSWORD

playwright_sync = pytest.importorskip("playwright.sync_api")

OFFICE_SCREEN = {"width": 1366, "height": 768}
AXE = Path(__file__).parents[4] / "node_modules" / "axe-core" / "axe.min.js"
JOB_MILLISECONDS = 120_000
NEW_ROAD = "新建一路"


class Walk:
    """One staff user's pages, each checked with axe-core as it is reached."""

    def __init__(self, page, base: str, artifact):
        self.page, self.base, self.artifact = page, base, artifact
        self.axe = AXE.read_text() if AXE.exists() else pytest.fail(f"{AXE} is missing: make install puts it there")
        self.violations = {}

    def checked(self, name: str) -> None:
        self.page.add_script_tag(content=self.axe)
        found = self.page.evaluate("async () => (await axe.run()).violations.map(v => v.id + ': ' + v.help)")
        if found:
            self.violations[name] = found
        self.page.screenshot(path=self.artifact(f"walk-{name}"), full_page=True)

    def would_change(self, what: str) -> str:
        """A count of a check's "what importing would change" table."""
        return self.page.locator("table.counts tr", has=self.page.get_by_role("rowheader", name=what, exact=True)) \
            .get_by_role("cell").inner_text()

    def job_done(self, text: str) -> None:
        """Wait on a job's page (it refreshes itself) until it says `text`."""
        self.page.get_by_text(text).first.wait_for(timeout=JOB_MILLISECONDS)


def _buildings_shapefile(folder: Path, near: shapely.Point) -> list[Path]:
    """Three buildings on a road the registry has not heard of, as a desk's GIS writes them: GBK text."""
    frame = gpd.GeoDataFrame(
        {"编号": ["NEW-1", "NEW-2", "NEW-3"], "路名": [NEW_ROAD] * 3, "门牌号": ["1", "2", "3"]},
        geometry=[shapely.Point(near.x + 0.0004 * i, near.y) for i in range(3)], crs="EPSG:4326")
    frame.to_file(folder / "新楼.shp", encoding="GBK")
    return sorted(folder.glob("新楼.*"))


def test_a_new_staff_user_imports_checks_prints_and_meets_a_failure_in_chinese(
        live_server, issued_app, browser, staff, job_worker, plate_font, artifact, tmp_path):
    context = browser.new_context(viewport=OFFICE_SCREEN, locale="zh-CN", bypass_csp=True)  # for axe's script
    page = context.new_page()
    walk = Walk(page, live_server, artifact)
    page.goto(f"{live_server}/staff/sign-in")
    walk.checked("sign-in")
    page.get_by_label("用户名").fill(staff[Role.OPERATOR].username)
    page.get_by_label("密码").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/staff/")

    # A CSV of service points with Chinese headers, in GBK.
    csv = tmp_path / "助餐点.csv"
    csv.write_bytes("编号,名称,类别,电话,开放时间,经度,纬度\n"
                    "WALK-1,凤凰助餐点,老年助餐点,0951-6000001,11:00-13:00,106.28,38.47\n"
                    "WALK-2,无名点,火箭发射场,,,106.28,38.47\n".encode("gbk"))
    page.get_by_role("link", name="导入").click()
    assert page.get_by_label("建筑").is_checked()  # the everyday import first
    walk.checked("import-choose")
    page.get_by_label("服务点").check()
    page.locator("input[type=file]").set_input_files(csv)
    page.get_by_role("button", name="下一步：查看文件读取结果").click()
    assert page.get_by_role("cell", name="凤凰助餐点").is_visible()  # read as GBK, not garbled
    assert page.get_by_label("类别").input_value() == "类别"  # matched by the column's Chinese name
    walk.checked("import-preview")
    page.get_by_role("button", name="下一步：检查导入（不写入任何数据）").click()
    walk.job_done("导入将带来的变化")
    assert walk.would_change("新增") == "1" and walk.would_change("未导入（见逐行报告）") == "1"
    walk.checked("import-check")
    db.session.rollback()
    assert db.session.scalar(select(ServicePoint.id).where(ServicePoint.source_id == "WALK-1")) is None
    page.get_by_role("button", name="正式导入").click()
    walk.job_done("完成：已保存。")
    walk.checked("import-done")
    db.session.rollback()
    assert db.session.scalar(select(ServicePoint.name).where(ServicePoint.source_id == "WALK-1")) == "凤凰助餐点"

    # A Shapefile of buildings on a road the registry lacks: refused unless the road is to be made.
    near = db.session.scalar(select(Building.point).limit(1))
    page.goto(f"{live_server}/staff/imports/new")
    page.locator("input[type=file]").set_input_files(_buildings_shapefile(tmp_path, near))
    page.get_by_role("button", name="下一步：查看文件读取结果").click()
    assert page.get_by_role("cell", name=NEW_ROAD).first.is_visible()
    page.get_by_label("新建文件中有而登记簿中没有的道路", exact=False).check()
    page.get_by_role("button", name="下一步：检查导入（不写入任何数据）").click()
    walk.job_done("导入将带来的变化")
    assert walk.would_change("新建道路") == "1" and walk.would_change("新增") == "3"
    page.get_by_role("button", name="正式导入").click()
    walk.job_done("完成：已保存。")
    assert page.get_by_text(f"已为 3 栋建筑新建道路“{NEW_ROAD}”", exact=False).is_visible()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Building).join(Road).where(Road.name == NEW_ROAD)) == 3

    # A print of one road, its name picked from what the registry offers as it is typed.
    road, plates = db.session.execute(
        select(Road.name, func.count()).join(Building, Building.road_id == Road.id).join(Plate)
        .where(Plate.status == PlateStatus.ISSUED).group_by(Road.name).order_by(func.count(), Road.name)
        .limit(1)).one()
    page.get_by_role("link", name="打印").click()
    page.locator("#road").fill(road[:2])
    page.locator(f'#road-names option[value="{road}"]').wait_for(state="attached")
    page.locator("#road").fill(road)
    page.get_by_role("button", name="先数一数有多少块门牌").click()
    assert page.get_by_text(f"按此选择将印制的门牌：{plates:,} 块").is_visible()
    walk.checked("print-counted")
    page.get_by_role("button", name="开始印制").click()
    walk.job_done("下载")
    walk.checked("print-done")

    # Failures: an empty file is told on the preview, a file of the wrong type at once; each has a way on.
    for name, content, told, way_on in (("空.csv", b"", "是空文件", "返回：换一种数据或文件"),
                                       ("说明.doc", b"not data", "请上传一个 Shapefile", "返回概览")):
        (tmp_path / name).write_bytes(content)
        page.goto(f"{live_server}/staff/imports/new")
        page.locator("input[type=file]").set_input_files(tmp_path / name)
        page.get_by_role("button", name="下一步：查看文件读取结果").click()
        assert told in page.get_by_text(told, exact=False).first.inner_text()
        assert page.get_by_role("link", name=way_on).is_visible()
        walk.checked(f"import-refused-{Path(name).suffix[1:]}")
    context.close()
    assert not walk.violations, walk.violations
