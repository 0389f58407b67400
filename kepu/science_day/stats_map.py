"""The national statistics' map: approved activities per province as a tile-grid
cartogram (server-rendered SVG, templates/science_day/stats/_map.html).

Each province is one square tile at its approximate place in China, labelled with its
short name and count, shaded in five buckets. Real boundaries are deliberately not
drawn: no boundary data ships with the platform (it runs offline), and a published map
of China with boundaries needs 审图号 approval (《地图管理条例》), which a schematic tile
grid does not claim to be. 香港, 澳门 and 台湾 are shown as tiles with no data (no
科协 review route there; 台湾 is not in the region list at all); the 兵团's activities
are in 新疆's tile, as in the region table (its cities' codes are 新疆's).
"""
from __future__ import annotations

from dataclasses import dataclass

#: code → (column, row, short name). 7 columns × 8 rows.
TILES: dict[str, tuple[int, int, str]] = {
    "23": (6, 0, "黑龙江"),
    "15": (3, 1, "内蒙古"), "11": (4, 1, "北京"), "22": (6, 1, "吉林"),
    "65": (0, 2, "新疆"), "62": (1, 2, "甘肃"), "64": (2, 2, "宁夏"), "14": (3, 2, "山西"),
    "13": (4, 2, "河北"), "12": (5, 2, "天津"), "21": (6, 2, "辽宁"),
    "54": (0, 3, "西藏"), "63": (1, 3, "青海"), "61": (2, 3, "陕西"), "41": (3, 3, "河南"),
    "37": (4, 3, "山东"),
    "51": (1, 4, "四川"), "50": (2, 4, "重庆"), "42": (3, 4, "湖北"), "34": (4, 4, "安徽"),
    "32": (5, 4, "江苏"), "31": (6, 4, "上海"),
    "53": (1, 5, "云南"), "52": (2, 5, "贵州"), "43": (3, 5, "湖南"), "36": (4, 5, "江西"),
    "33": (5, 5, "浙江"),
    "45": (2, 6, "广西"), "44": (3, 6, "广东"), "35": (4, 6, "福建"), "71": (5, 6, "台湾"),
    "46": (2, 7, "海南"), "82": (3, 7, "澳门"), "81": (4, 7, "香港"),
}
#: Shown as "no data" whatever the table says (no 科协 review route).
NO_DATA = frozenset({"71", "81", "82"})
FULL_NAMES = {"71": "台湾省"}
BUCKETS = 5
TILE, GAP = 56, 4
COLUMNS, ROWS = 7, 8


@dataclass(frozen=True)
class Tile:
    code: str
    short: str
    name: str
    n: int | None          # None: no data
    bucket: int            # 0: none approved; 1–5 the shade; -1 no data
    x: int
    y: int
    href: str | None

    @property
    def title(self) -> str:
        if self.n is None:
            return f"{self.name}：暂无数据"
        return f"{self.name}：已通过活动 {self.n:,} 项"


@dataclass(frozen=True)
class ChinaMap:
    tiles: list[Tile]
    legend: list[tuple[int, str]]     # (bucket, "lo–hi") of the buckets in use
    width: int = COLUMNS * (TILE + GAP) - GAP
    height: int = ROWS * (TILE + GAP) - GAP
    tile: int = TILE


def breaks(values: list[int]) -> list[int]:
    """Upper bounds of buckets 1–4 (bucket 5 takes the rest): the quintiles of the
    provinces that have any approved activity, so a province ten times the others'
    size does not leave the rest in one shade."""
    nonzero = sorted(v for v in values if v > 0)
    if not nonzero:
        return []
    return [nonzero[max(0, -(-k * len(nonzero) // BUCKETS) - 1)] for k in range(1, BUCKETS)]


def bucket_of(n: int, bounds: list[int]) -> int:
    if n <= 0:
        return 0
    for k, top in enumerate(bounds, 1):
        if n <= top:
            return k
    return BUCKETS


def legend(values: list[int], bounds: list[int]) -> list[tuple[int, str]]:
    nonzero = [v for v in values if v > 0]
    if not nonzero:
        return []
    lows = [1] + [b + 1 for b in bounds]
    highs = bounds + [max(nonzero)]
    out = []
    for k, (lo, hi) in enumerate(zip(lows, highs), 1):
        used = [v for v in nonzero if bucket_of(v, bounds) == k]
        if used:
            lo, hi = min(used), max(used)
            out.append((k, f"{lo:,}" if lo == hi else f"{lo:,}–{hi:,}"))
    return out


def build(counts: dict[str, tuple[str, int]], link) -> ChinaMap:
    """``counts``: province code → (full name, approved activities), the national
    region table's rows; ``link(code)`` the drill-down URL."""
    values = [n for code, (_name, n) in counts.items() if code not in NO_DATA]
    bounds = breaks(values)
    tiles = []
    for code, (col, row, short) in TILES.items():
        name, n = counts.get(code, (FULL_NAMES.get(code, short), 0))
        no_data = code in NO_DATA
        tiles.append(Tile(code, short, name, None if no_data else n,
                          -1 if no_data else bucket_of(n, bounds),
                          col * (TILE + GAP), row * (TILE + GAP),
                          None if no_data else link(code)))
    return ChinaMap(tiles, legend(values, bounds))
