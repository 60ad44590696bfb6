"""The fixed lists `sciplan seed-demo` draws from: organizations, names, topics.

Everything here is plain data; `seed_demo` picks from it with a seeded random generator, so the
same seed always gives the same people, organizations and applications.
"""

from __future__ import annotations

from shared.credit_code import check_character

# (key, name, kind). The unified social credit code is derived from the position in this list.
ORGANIZATIONS: list[tuple[str, str, str]] = [
    ("lzu", "兰州大学", "university"),
    ("nwnu", "西北师范大学", "university"),
    ("gau", "甘肃农业大学", "university"),
    ("lut", "兰州理工大学", "university"),
    ("ljtu", "兰州交通大学", "university"),
    ("gszyy", "甘肃中医药大学", "university"),
    ("gsaas", "甘肃省农业科学院", "research_institute"),
    ("gsas", "甘肃省科学院", "research_institute"),
    ("lzmed", "兰州生物医学研究所", "research_institute"),
    ("jinchuan", "金川集团股份有限公司", "enterprise"),
    ("green", "甘肃绿源农业科技有限公司", "enterprise"),
    ("xinneng", "兰州新能源材料科技有限公司", "enterprise"),
    ("lab", "兰州新区检验检测中心有限公司", "enterprise"),  # the voucher service provider
]
RESEARCH_ORGS = [key for key, _, kind in ORGANIZATIONS if kind != "enterprise"]
ENTERPRISES = ["jinchuan", "green", "xinneng"]
PROVIDER_ORG = "lab"


def credit_code(n: int) -> str:
    """A valid unified social credit code (check character included), unique per `n`."""
    body = f"91620100MA8D{n:05d}"
    return body + check_character(body)


# (surname, pinyin), (given name, pinyin): people are combinations, usernames their pinyin.
SURNAMES: list[tuple[str, str]] = [
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("赵", "zhao"),
    ("黄", "huang"),
    ("周", "zhou"),
    ("吴", "wu"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("高", "gao"),
    ("林", "lin"),
    ("罗", "luo"),
    ("郑", "zheng"),
    ("梁", "liang"),
    ("谢", "xie"),
    ("宋", "song"),
]
GIVEN_NAMES: list[tuple[str, str]] = [
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀英", "xiuying"),
    ("桂兰", "guilan"),
    ("建华", "jianhua"),
    ("志强", "zhiqiang"),
    ("海燕", "haiyan"),
    ("晓东", "xiaodong"),
    ("文博", "wenbo"),
    ("雪梅", "xuemei"),
    ("国庆", "guoqing"),
    ("红霞", "hongxia"),
    ("春生", "chunsheng"),
    ("玉兰", "yulan"),
    ("立新", "lixin"),
    ("永刚", "yonggang"),
]

# (title, keywords, subject code) of research topics; applications take a topic and a number.
TOPICS: list[tuple[str, list[str], str]] = [
    ("盐碱地生物改良关键技术", ["盐碱地", "土壤改良"], "210.2010"),
    ("旱作农业节水灌溉技术集成与示范", ["旱作农业", "节水"], "210.2020"),
    ("河西走廊风光储一体化调度方法", ["新能源", "储能"], "470.4020"),
    ("镍钴资源高效清洁冶炼工艺", ["有色金属", "冶炼"], "450.3010"),
    ("祁连山生态屏障修复评估", ["生态修复", "遥感"], "610.3020"),
    ("中药材道地性品质评价体系", ["中药材", "质量标准"], "360.4020"),
    ("黄河上游水沙变化与防洪调度", ["黄河", "水资源"], "570.2010"),
    ("高原夏菜采后保鲜与冷链物流", ["保鲜", "冷链"], "210.5010"),
    ("重离子治癌装置关键部件国产化", ["重离子", "医疗装备"], "490.2020"),
    ("智能制造装备故障诊断与预测维护", ["智能制造", "故障诊断"], "460.3510"),
    ("马铃薯脱毒种薯繁育技术", ["马铃薯", "种业"], "210.1020"),
    ("敦煌壁画数字化保护与病害监测", ["文物保护", "数字化"], "780.4010"),
]
