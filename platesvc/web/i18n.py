"""The resident pages' words in Chinese (the default) and English, and choosing between them."""

from flask import Request

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

MESSAGES = {
    "zh": {
        "html_lang": "zh-CN",
        "title": "门牌信息",
        "plate": "门牌编号",
        "address": "标准地址",
        "navigate": "导航到这里",
        "navigate_short": "导航",
        "back": "返回门牌信息",
        "apps": {"amap": "高德地图", "baidu": "百度地图", "tencent": "腾讯地图", "apple": "苹果地图",
                 "geo": "其他地图应用"},
        "police": "社区民警",
        "beat": "警务区",
        "station": "派出所",
        "call": "拨打",
        "no_police": "暂无该地址的警务区信息，如需报警请拨打 110。",
        "nearest": "附近服务",
        "categories": {"elderly_care": "养老服务中心", "day_care": "日间照料中心", "meal_point": "老年助餐点",
                       "assistance_station": "社会救助站"},
        "none_nearby": "附近暂无此类服务点。",
        "hours": "开放时间",
        "distance": "距离约",
        "metres": "米",
        "kilometres": "公里",
        "culture": "街区文化",
        "hotlines": "服务热线",
        "other_language": "English",
        "not_found_title": "没有找到这块门牌",
        "not_found_body": "门牌编号有误，或者这块门牌还没有登记。",
        "did_you_mean": "您要找的是不是：",
        "try_again": "请核对门牌上的编号后重新输入：",
        "look_up": "查询",
        "retired_title": "这块门牌已停用",
        "retired_body": "这栋建筑已拆除或合并，门牌编号不再使用。",
        "moved_to": "现在的门牌：",
        "map_title": "门牌与便民服务地图",
        "map_all": "全部服务",
        "map_category": "服务类别",
        "near_me": "查找我附近的服务",
        "near_me_busy": "正在定位…",
        "near_me_failed": "无法获取您的位置，请允许定位后重试。",
        "map_hint": "放大地图可看到门牌，点击门牌查看详情。",
        "map_no_script": "地图需要开启浏览器的脚本功能。",
    },
    "en": {
        "html_lang": "en",
        "title": "Door plate",
        "plate": "Plate ID",
        "address": "Address",
        "navigate": "Navigate here",
        "navigate_short": "Navigate",
        "back": "Back to the plate",
        "apps": {"amap": "Amap", "baidu": "Baidu Maps", "tencent": "Tencent Maps", "apple": "Apple Maps",
                 "geo": "Other map app"},
        "police": "Community police officer",
        "beat": "Police beat",
        "station": "Police station",
        "call": "Call",
        "no_police": "No police beat is recorded for this address. In an emergency call 110.",
        "nearest": "Services nearby",
        "categories": {"elderly_care": "Elderly care centre", "day_care": "Day care centre",
                       "meal_point": "Meal service for seniors", "assistance_station": "Social assistance station"},
        "none_nearby": "No service point of this kind nearby.",
        "hours": "Open",
        "distance": "About",
        "metres": "m",
        "kilometres": "km",
        "culture": "Local culture",
        "hotlines": "Help lines",
        "other_language": "中文",
        "not_found_title": "Plate not found",
        "not_found_body": "The plate ID is mistyped, or this plate has not been registered.",
        "did_you_mean": "Did you mean:",
        "try_again": "Check the ID on the plate and type it again:",
        "look_up": "Look up",
        "retired_title": "This plate is no longer in use",
        "retired_body": "The building was demolished or merged; its plate ID is retired.",
        "moved_to": "Its plate now:",
        "map_title": "Plates and services map",
        "map_all": "All services",
        "map_category": "Service type",
        "near_me": "Find services near me",
        "near_me_busy": "Finding you…",
        "near_me_failed": "Your location is not available. Allow location access and try again.",
        "map_hint": "Zoom in to see door plates; tap a plate to open it.",
        "map_no_script": "The map needs scripts turned on in your browser.",
    },
}


def choose_language(request: Request) -> str:
    """?lang= first, then the browser's Accept-Language, then Chinese."""
    asked = request.args.get("lang", "").lower()
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)


def distance_text(metres: float, language: str) -> str:
    words = MESSAGES[language]
    if metres < 1000:
        return f"{words['distance']} {round(metres / 10) * 10:.0f} {words['metres']}"
    return f"{words['distance']} {metres / 1000:.1f} {words['kilometres']}"
