"""Chinese names for the demo district: roads, streets (街道), communities (社区), grids.

The pools are place-name stems of the kind found around Kunming's 呈贡区; names are drawn from
them with a seeded generator, so one seed always gives the same names, and never twice the
same name inside one district.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from geogrid.errors import InvalidParameter

ROAD_STEMS = (
    "彩云",
    "春融",
    "联大",
    "龙城",
    "洛羊",
    "吴家营",
    "斗南",
    "雨花",
    "乌龙",
    "梁王",
    "景明",
    "祥和",
    "广福",
    "白龙",
    "万溪",
    "三台",
    "古城",
    "新册",
    "郑和",
    "聚贤",
    "云桥",
    "惠民",
    "东盛",
    "星光",
    "月华",
    "海晏",
    "宝珠",
    "晨光",
    "紫云",
    "碧水",
    "翠湖",
    "金马",
    "宏达",
    "文化",
    "迎宾",
    "富康",
    "安泰",
    "兴隆",
    "蓝天",
    "青年",
    "友谊",
    "锦华",
    "林溪",
    "江尾",
    "双龙",
    "乐居",
    "兴呈",
    "春城",
    "锦绣",
    "大学城",
    "高新",
    "时代",
    "信息",
    "科技",
    "昌宏",
    "七彩",
    "康桥",
    "映月",
    "畅和",
    "落龙",
    "白云",
    "石龙",
)
STREET_STEMS = (
    "龙城",
    "洛羊",
    "乌龙",
    "大渔",
    "吴家营",
    "雨花",
    "洛龙",
    "马金铺",
    "七甸",
    "斗南",
    "可乐",
    "白龙潭",
    "梁王",
    "三台",
    "万溪",
    "广福",
    "新册",
    "江尾",
    "郑和",
    "呈贡",
    "景明",
    "祥和",
)
COMMUNITY_STEMS = (
    "斗南",
    "江尾",
    "小古城",
    "石碑",
    "白龙潭",
    "郎家营",
    "王家营",
    "缪家营",
    "三台",
    "马郎",
    "高坡",
    "冯家",
    "安江",
    "七步场",
    "大冲",
    "黄土坡",
    "殷练",
    "下庄",
    "大营",
    "小营",
    "张溪营",
    "白云",
    "乐居",
    "梅子",
    "新街",
    "云津",
    "春晓",
    "桃园",
    "柳营",
    "龙街",
    "中庄",
    "吴家营",
    "雨花",
    "大洛羊",
    "小洛羊",
    "回回营",
    "丁家",
    "大渔",
    "海晏",
    "月角",
    "捞鱼河",
    "马金铺",
    "化城",
    "松茂",
    "七甸",
    "联合",
    "和平",
    "彩云",
    "锦绣",
    "聚贤",
    "春融",
    "景明",
    "龙翔",
    "万溪冲",
    "梁王",
    "宝珠",
    "仁和",
    "永安",
    "广南",
    "石龙",
)
DIRECTIONS = ("", "东", "西", "南", "北", "中")
COMMUNITY_SUFFIXES = (*DIRECTIONS, "新村", "花园", "家园")
MAIN_ROAD_SUFFIXES = ("路", "路", "大道")
SECONDARY_ROAD_SUFFIXES = ("街", "路")
EDGE_ROAD_NAME = "环湖东路"
_DIGITS = "零一二三四五六七八九"


def unique_names(
    stems: Sequence[str],
    suffixes: Sequence[str],
    count: int,
    rng: np.random.Generator,
    *,
    what: str,
) -> list[str]:
    """``count`` distinct names ``stem + suffix``, plain stems first, in a seeded order.

    Raises
    ------
    InvalidParameter
        When the pools hold fewer than ``count`` distinct names.
    """
    names: list[str] = []
    seen: set[str] = set()
    for suffix in suffixes:
        for i in rng.permutation(len(stems)):
            name = f"{stems[int(i)]}{suffix}"
            if name not in seen:
                seen.add(name)
                names.append(name)
    if count > len(names):
        raise InvalidParameter(
            f"The demo has only {len(names)} distinct {what} names; {count} were asked for."
        )
    return names[:count]


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 25 → 二十五 (1–99)."""
    if not 1 <= n <= 99:
        raise InvalidParameter(f"Cannot name alley number {n}; alleys are numbered 1-99.")
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else f"{_DIGITS[tens]}十")
    return head + (_DIGITS[ones] if ones else "")


def road_stems(count: int, rng: np.random.Generator) -> list[str]:
    """Stems of the main and secondary roads (彩云, 春融, …), distinct."""
    return unique_names(ROAD_STEMS, DIRECTIONS, count, rng, what="road")


def road_name(stem: str, road_class: str, rng: np.random.Generator) -> str:
    """彩云路 / 龙城大道 for a main road, 春融街 / 景明路 for a secondary one."""
    suffixes = MAIN_ROAD_SUFFIXES if road_class == "main" else SECONDARY_ROAD_SUFFIXES
    return stem + suffixes[int(rng.integers(len(suffixes)))]


def alley_name(parent_stem: str, number: int) -> str:
    """The ``number``-th alley after the road ``parent_stem``: 彩云三巷."""
    return f"{parent_stem}{chinese_number(number)}巷"


def street_names(count: int, rng: np.random.Generator) -> list[str]:
    """Distinct street names, e.g. 龙城街道."""
    return [f"{n}街道" for n in unique_names(STREET_STEMS, DIRECTIONS, count, rng, what="street")]


def community_names(count: int, rng: np.random.Generator) -> list[str]:
    """Distinct community names, e.g. 斗南社区, 王家营新村社区."""
    stems = unique_names(COMMUNITY_STEMS, COMMUNITY_SUFFIXES, count, rng, what="community")
    return [f"{n}社区" for n in stems]


def grid_name(community_name: str, sequence: int) -> str:
    """The display name of a grid: 斗南社区3号网格."""
    return f"{community_name}{sequence}号网格"
