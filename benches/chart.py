#!/usr/bin/env python3
"""Draws the comparison tables of benches/load.sh as an SVG bar chart.

    benches/chart.py < load-output.md > chart.svg

Reads every Markdown table row whose first cell names a throughput ("(req/s)") or a
latency ("p99"), with one column per server as in load.sh's header row, and draws one
group of horizontal bars per row, warden first. Standard library only.
"""
import html
import sys

COLORS = {"warden": "#2b6cb0", "actix": "#9c4221", "hyper": "#2f855a", "may": "#6b46c1"}
BAR, GAP, GROUP_GAP, LABEL_W, CHART_W = 16, 3, 26, 330, 420


def rows(lines):
    """(title, [(server, value)]) for each chartable row, in order."""
    servers = None
    last = ""
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3:
            continue
        if cells[0] == "test":
            servers = cells[1:-1]  # the last column is the ratio
            continue
        if servers is None or set(cells[0]) <= set("- "):
            continue
        title = cells[0]
        if "(req/s)" in title:
            last = title.replace(" (req/s)", "")
        elif title.startswith("p99"):
            title = f"{last}: {title}"  # the row under a throughput row is its latency
        elif "p99" not in title:
            continue
        values = []
        for server, cell in zip(servers, cells[1:1 + len(servers)]):
            try:
                values.append((server, float(cell.replace(",", ""))))
            except ValueError:
                pass  # "-" or "died"
        if values:
            yield title, values


def svg(groups):
    height = sum(len(v) * (BAR + GAP) + GROUP_GAP + 18 for _, v in groups) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{LABEL_W + CHART_W + 90}" '
           f'height="{height}" font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>']
    y = 10
    for title, values in groups:
        lower_is_better = "p99" in title
        note = " (lower is better)" if lower_is_better else ""
        out.append(f'<text x="4" y="{y + 12}" font-weight="bold">{html.escape(title)}{note}</text>')
        y += 18
        top = max(v for _, v in values) or 1
        for server, value in values:
            width = max(1, value / top * CHART_W)
            color = COLORS.get(server, "#718096")
            shown = f"{value:,.2f}" if lower_is_better else f"{value:,.0f}"
            out.append(f'<text x="{LABEL_W - 6}" y="{y + BAR - 4}" text-anchor="end">{html.escape(server)}</text>')
            out.append(f'<rect x="{LABEL_W}" y="{y}" width="{width:.1f}" height="{BAR}" fill="{color}"/>')
            out.append(f'<text x="{LABEL_W + width + 4:.1f}" y="{y + BAR - 4}">{shown}</text>')
            y += BAR + GAP
        y += GROUP_GAP
    out.append("</svg>")
    return "\n".join(out)


def main():
    groups = list(rows(sys.stdin))
    if not groups:
        sys.exit("no load.sh table rows on standard input")
    print(svg(groups))


if __name__ == "__main__":
    main()
