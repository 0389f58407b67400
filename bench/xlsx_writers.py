"""Which xlsx writer for the big exports: time and peak memory at 100,000 rows.

Writes the same rows — shaped like the works export: 27 columns, two of them ~1,000
Chinese characters (简介, 亮点总结), phone numbers, dates as text, ids, file names — with

- ``openpyxl``       openpyxl write-only mode, as installed by kepu (no lxml)
- ``openpyxl-lxml``  the same with lxml installed (only when ``lxml`` imports; not in
                     the default list: slower still, ``--writers openpyxl-lxml``)
- ``xlsxwriter``     xlsxwriter with ``constant_memory`` (rows flushed as written)
- ``xlsxwriter-z1``  the same, its zip written at deflate level 1 instead of 6
                     (compression is ~40 % of its time on this data)
- ``pyexcelerate``   pyexcelerate (takes the whole sheet as a list of rows)
- ``kepu``           kepu's own streaming writer (``kepu/xlsx_writer.py``): inline
                     strings, deflate level 1 in a second thread
- ``kepu-1thread``   the same without the compression thread
- ``rows``           baseline: build and iterate the rows, write nothing

Each run is a fresh child process (imports done before the clock starts), so one
writer's heap cannot flatter or penalise the next; the runs are interleaved (the order
rotates every round) and the 1-minute load average is recorded before each one. Memory
is the growth of the child's peak RSS while writing: VmHWM is reset to the current RSS
(``echo 5 > /proc/self/clear_refs``) just before, as in ``review_lists.py``. Every text
is unique per row (no shared-string dedupe can help), and the same formula-injection
escaping as ``kepu.exports`` is applied to every cell.

    .venv/bin/pip install -e '.[bench]'                    # xlsxwriter, pyexcelerate, lxml
    .venv/bin/python bench/xlsx_writers.py                  # 100,000 rows, 3 runs each
    .venv/bin/python bench/xlsx_writers.py --rows 20000 --runs 5 --writers xlsxwriter,openpyxl
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # kepu

HEADER = [
    "编号", "作品名称", "作品类型", "作品分类", "作品简介", "作者姓名", "申报单位", "单位地址",
    "联系人", "联系电话", "电子邮箱", "职务/职称", "申报单位类型", "推荐渠道", "亮点总结",
    "相关媒体报道", "获奖情况", "状态", "退回意见", "提交时间", "推荐时间", "更新时间",
    "申报账号", "作品封面", "封面副图", "作品文件", "获奖情况附件",
]
WIDTHS = {0: 8, 1: 30, 4: 60, 6: 24, 14: 60}
WRITERS = ["openpyxl", "xlsxwriter", "xlsxwriter-z1", "pyexcelerate", "kepu",
           "kepu-1thread", "rows"]


# --- rows ------------------------------------------------------------------------------

def _pool(n: int = 8000) -> str:
    """Prose-like text: 3,500 distinct characters drawn with Zipf weights (real Chinese
    text has ~9–10 bits per character; uniform random characters would compress worse
    than any real 简介 and make every writer look slower than it is)."""
    rng = random.Random(42)
    alphabet = [chr(0x4E00 + (k * 2654435761) % 0x5000) for k in range(3500)]
    weights = [1 / (rank + 1) for rank in range(len(alphabet))]
    chars = rng.choices(alphabet, weights, k=n)
    for i in range(0, n, 17):
        chars[i] = "，"
    for i in range(0, n, 53):
        chars[i] = "。"
    return "".join(chars)


def _clean(value):
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def rows(n: int):
    pool = _pool()
    span = len(pool) - 1000
    for i in range(1, n + 1):
        a = (i * 7919) % span
        b = (i * 104729) % span
        day = 1 + i % 28
        yield [_clean(v) for v in (
            i, f"{pool[a:a + 12]}科普作品{i}", "科普视频", "前沿科技",
            f"{i}号作品简介：{pool[a:a + 994]}", pool[b:b + 3], f"申报单位{i % 500}",
            f"北京市海淀区复兴路{i % 300}号", pool[b + 3:b + 6], f"139{i:08d}",
            f"user{i}@example.com", "编辑", "省级科协", f"推荐单位{i % 40:02d}",
            f"{i}号亮点：{pool[b:b + 995]}",
            f"媒体报道{i} https://news.example.com/{i}", "全国科普微视频大赛二等奖",
            "待推荐", "" if i % 10 else "=请补充材料", f"2026-06-{day:02d} 10:{i % 60:02d}",
            "", f"2026-06-{day:02d} 11:{i % 60:02d}", f"138{i:08d}",
            f"封面{i}.jpg", "", f"作品{i}.mp4", "" if i % 3 else f"获奖证书{i}.pdf",
        )]


# --- writers ---------------------------------------------------------------------------

def write_openpyxl(path: str, data) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("作品列表")
    for col, width in WIDTHS.items():
        ws.column_dimensions[get_column_letter(col + 1)].width = width
    head = []
    for h in HEADER:
        c = WriteOnlyCell(ws, value=h)
        c.font = Font(bold=True)
        head.append(c)
    ws.append(head)
    for row in data:
        ws.append(row)
    wb.save(path)


def write_xlsxwriter(path: str, data) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(path, {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
        "strings_to_numbers": False, "tmpdir": str(Path(path).parent)})
    ws = wb.add_worksheet("作品列表")
    for col, width in WIDTHS.items():
        ws.set_column(col, col, width)
    ws.write_row(0, 0, HEADER, wb.add_format({"bold": True}))
    for r, row in enumerate(data, 1):
        ws.write_row(r, 0, row)
    wb.close()


def write_xlsxwriter_z1(path: str, data) -> None:
    import zipfile

    import xlsxwriter.workbook

    class FastZip(zipfile.ZipFile):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("compresslevel", 1)
            super().__init__(*args, **kwargs)

    xlsxwriter.workbook.ZipFile = FastZip
    write_xlsxwriter(path, data)


def write_pyexcelerate(path: str, data) -> None:
    from pyexcelerate import Font, Style, Workbook

    wb = Workbook()
    ws = wb.new_sheet("作品列表", data=[HEADER, *data])
    ws.set_row_style(1, Style(font=Font(bold=True)))
    for col, width in WIDTHS.items():
        ws.set_col_style(col + 1, Style(size=width))
    wb.save(path)


def write_kepu(path: str, data, threaded: bool = True) -> None:
    from kepu.xlsx_writer import XlsxWriter

    with XlsxWriter(path, threaded=threaded) as x:
        x.sheet("作品列表", HEADER, data, WIDTHS)


def write_kepu_1thread(path: str, data) -> None:
    write_kepu(path, data, threaded=False)


def write_rows(path: str, data) -> None:
    for _ in data:
        pass
    Path(path).write_bytes(b"")


# --- measurement -------------------------------------------------------------------------

def proc_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def reset_peak() -> float:
    """Reset the peak RSS (VmHWM) to the current RSS; returns the current RSS in MB."""
    Path("/proc/self/clear_refs").write_text("5")
    return proc_kb("VmRSS") / 1024


def child(writer: str, n: int, out: str) -> None:
    fn = {"openpyxl": write_openpyxl, "openpyxl-lxml": write_openpyxl,
          "xlsxwriter": write_xlsxwriter, "xlsxwriter-z1": write_xlsxwriter_z1,
          "pyexcelerate": write_pyexcelerate, "kepu": write_kepu,
          "kepu-1thread": write_kepu_1thread,
          "rows": write_rows}[writer]
    # imports before the clock and the memory baseline
    if writer.startswith("openpyxl"):
        import openpyxl  # noqa: F401
        from openpyxl import LXML
        assert LXML == (writer == "openpyxl-lxml"), "lxml use does not match the variant"
    elif writer.startswith("xlsxwriter"):
        import xlsxwriter  # noqa: F401
    elif writer == "pyexcelerate":
        import pyexcelerate  # noqa: F401
    elif writer.startswith("kepu"):
        import kepu.xlsx_writer  # noqa: F401
    data = rows(n)
    before = reset_peak()
    t0, c0 = time.perf_counter(), time.process_time()
    fn(out, data)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = proc_kb("VmHWM") / 1024
    print(json.dumps({"secs": secs, "cpu": cpu, "before_mb": before, "growth_mb": peak - before,
                      "size_mb": os.path.getsize(out) / 1024 / 1024}))


def check_file(path: str, n: int) -> None:
    """The file opens and holds the rows (header + n), with escaped formula text."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    ws = wb.worksheets[0]
    count = 0
    escaped = 0
    for row in ws.iter_rows(values_only=True):
        count += 1
        if count > 1 and row[18] == "'=请补充材料":
            escaped += 1
    assert count == n + 1, (path, count)
    assert escaped == n // 10, (path, escaped)
    wb.close()


def available(writer: str) -> bool:
    """Writers whose library is not installed are skipped (``pip install -e '.[bench]'``)."""
    module = {"openpyxl-lxml": "lxml", "xlsxwriter": "xlsxwriter",
              "xlsxwriter-z1": "xlsxwriter", "pyexcelerate": "pyexcelerate"}.get(writer)
    if module is None:
        return True
    try:
        __import__(module)
    except ImportError:
        print(f"skipping {writer}: {module} is not installed", file=sys.stderr)
        return False
    return True


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--writers", default=",".join(WRITERS))
    ap.add_argument("--check", action="store_true",
                    help="re-read each file with openpyxl (slow) to check rows and escaping")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.rows, args.out)
        return 0

    writers = [w for w in args.writers.split(",") if available(w)]
    results: dict[str, list[dict]] = {w: [] for w in writers}
    with tempfile.TemporaryDirectory() as d:
        for run in range(args.runs):
            order = writers[run % len(writers):] + writers[:run % len(writers)]
            for w in order:
                out = str(Path(d) / f"{w}-{run}.xlsx")
                env = dict(os.environ)
                env["OPENPYXL_LXML"] = "True" if w == "openpyxl-lxml" else "False"
                load = os.getloadavg()[0]
                proc = subprocess.run(
                    [sys.executable, __file__, "--child", w, "--rows", str(args.rows),
                     "--out", out], capture_output=True, text=True, env=env, check=True)
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                r["load"] = load
                results[w].append(r)
                print(f"run {run + 1} {w:14} {r['secs']:6.1f} s (cpu {r['cpu']:5.1f} s)  "
                      f"+{r['growth_mb']:7.1f} MB  "
                      f"{r['size_mb']:6.1f} MB file  load {load:.2f}", flush=True)
                if args.check and w != "rows":
                    check_file(out, args.rows)
                os.unlink(out)

    print()
    print(f"{args.rows:,} rows x {len(HEADER)} columns, {args.runs} interleaved runs each")
    print("| writer | wall time (median, min–max) | CPU time (median) | "
          "peak RSS growth (median, max) | file | load avg (1 min) |")
    print("|---|---|---|---|---|---|")
    for w, rs in results.items():
        secs = [r["secs"] for r in rs]
        grow = [r["growth_mb"] for r in rs]
        loads = [r["load"] for r in rs]
        cpu = statistics.median(r["cpu"] for r in rs)
        print(f"| {w} | {statistics.median(secs):.1f} s ({min(secs):.1f}–{max(secs):.1f}) | "
              f"{cpu:.1f} s | "
              f"{statistics.median(grow):.1f} MB ({max(grow):.1f}) | "
              f"{rs[0]['size_mb']:.1f} MB | {min(loads):.2f}–{max(loads):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
