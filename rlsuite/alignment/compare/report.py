"""``align compare``'s report: the console table, ``report.md``, ``frontier.png`` and ``results.json``,
from the results :func:`rlsuite.alignment.compare.run.run_compare` returns (nothing here trains or prints)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def summary_line(result: dict[str, Any]) -> str:
    """One line for a finished run: reward, KL, win rate, cost, where."""
    kind = "gold" if result.get("reward_kind") == "gold" else "judge"
    cost = result.get("cost", {})
    where = result.get("ran_on", {}).get("where", "")
    tail = "finished earlier" if result.get("skipped") else f"{cost.get('wall_seconds', 0):.1f} s, {where}"
    return (f"{kind} {result['reward']:+.2f}  KL {result['kl_to_sft']:.2f}  "
            f"win {result['win_rate_vs_sft']:.2f}  ({tail})")


def table_text(results: dict[str, Any]) -> str:
    """The final table for the console."""
    lines = [f"{'method':12} {'signal':34} {'reward':>7} {'win':>5} {'KL':>6} {'wall s':>7}"]
    for name, row in results["methods"].items():
        wall = row.get("cost", {}).get("wall_seconds")
        lines.append(f"{name:12} {row.get('signal', '-')[:34]:34} {row['reward']:7.2f} "
                     f"{row['win_rate_vs_sft']:5.2f} {row['kl_to_sft']:6.2f} {_num(wall, 1):>7}")
    return "\n".join(lines)


def write_report(out: str | Path, results: dict[str, Any]) -> None:
    """``results.json``, ``report.md`` and ``frontier.png``, each written atomically."""
    from rlsuite.common.io import write_json, write_text

    root = Path(out)
    plot_frontier(results, root / "frontier.png")
    write_json(root / "results.json", results)
    write_text(root / "report.md", report_md(results))


def _num(x: Any, digits: int = 2) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _pm(mean: float, err: float, digits: int = 2) -> str:
    return f"{mean:.{digits}f} ± {err:.{digits}f}"


def report_md(r: dict[str, Any]) -> str:
    """The report as markdown: the table, the frontier, the settings (tables, numbers rounded to their meaning)."""
    s = r["settings"]
    gold = r["reward_kind"].startswith("gold")  # no gold reward (the user's data): no gold-labelled column or row
    judged = gold or bool(r.get("judge"))  # a pairwise judge's column: beside gold, or a causal LM's on any data
    peak_kind = next((m.get("peak_memory_kind") for m in r["stage_costs"].values()
                      if isinstance(m, dict) and m.get("peak_memory_kind")), "")
    lines = [
        "# rlsuite align compare\n",
        "| | |", "|---|---|",
        f"| model | {s['model']} |", f"| data | {s['data']} |",
        f"| prompts | {'conversations through the chat template' if s.get('conversational') else 'plain text'} |",
        f"| reward | {r['reward_kind']} |", f"| KL | {r['kl_estimator']} |", f"| error bars | {r['error_bars']} |",
        f"| workers | {r['workers']['count']} ({r['workers']['torch_threads_per_process']} torch thread(s) each) |",
        "",
        "## Methods\n",
        "| method | signal | reward | win rate vs SFT | KL to SFT | RM acc. | implicit acc. "
        "| wall s | peak MB | tokens |" + (" judge win rate |" if judged else "")
        + (" judge-gold agreement |" if gold else ""),
        "|---|---|---|---|---|---|---|---|---|---|" + ("---|" if judged else "") + ("---|" if gold else ""),
    ]
    for name, row in r["methods"].items():
        cost = row.get("cost", {})
        strength = f" ({row['strength_name']} {row['kl_strength']:g})" if "kl_strength" in row else ""
        lines.append(
            f"| {name}{strength} | {row.get('signal', '-')} | {_pm(row['reward'], row['reward_sem'])} "
            f"| {_pm(row['win_rate_vs_sft'], row['win_rate_sem'])} | {_pm(row['kl_to_sft'], row['kl_sem'])} "
            f"| {_num(row.get('reward_model_accuracy'))} | {_num(row.get('dpo_implicit_reward_accuracy'))} "
            f"| {_num(cost.get('wall_seconds'), 1)} | {_num(cost.get('peak_memory_mb'), 0)} "
            f"| {_num(cost.get('tokens'))} |"
            + (f" {_judged(row)} |" if judged else "") + (f" {_num(row.get('judge_agreement_with_gold'))} |"
                                                          if gold else "")
        )
    lines += [
        "",
        _judge_note(r, gold),
        "",
        "Costs of methods that train on the reward model include its training. "
        f"Peak memory: {peak_kind}."
        + (" Cost at matched gold reward: `benchmarks/alignment_cost.py`." if gold else ""),
        "",
        "## Frontier\n",
        "![frontier](frontier.png)\n",
        "| method | KL strength | seeds | reward | KL |",
        "|---|---|---|---|---|",
    ]
    for method, pts in r["frontier"].items():
        for p in pts:
            err = p["seeds"] > 1
            lines.append(
                f"| {method} | {p['kl_strength']:g} | {p['seeds']} "
                f"| {_pm(p['reward'], p['reward_err']) if err else _num(p['reward'])} "
                f"| {_pm(p['kl'], p['kl_err']) if err else _num(p['kl'])} |"
            )
    h = r["heldout"]
    lines += [
        "",
        f"Held out: {h['prompts']} prompts, {h['pairs']} pairs ({h['train_pairs']} pairs trained on).",
        "",
        "## Where each stage ran\n",
        "| stage | where | host | pid | wall s |",
        "|---|---|---|---|---|",
    ]
    for name, c in r["stage_costs"].items():
        on = c.get("ran_on") or {}
        lines.append(f"| {name} | {on.get('where', '-')} | {on.get('host', '-')} | {on.get('pid', '-')} "
                     f"| {_num(c.get('wall_seconds'), 1)} |")
    lines += ["", "## Settings\n", "| setting | value |", "|---|---|"]
    for key, value in s["config"].items():
        items = value if isinstance(value, list) else [value]
        shown = ", ".join(f"{v:g}" if isinstance(v, float) else _num(v) for v in items)
        lines.append(f"| {key} | {shown} |")
    return "\n".join(lines) + "\n"


def _judged(row: dict[str, Any]) -> str:
    if "judge_win_rate_vs_sft" not in row:
        return "-"
    return _pm(row["judge_win_rate_vs_sft"], row["judge_win_rate_sem"])


def _judge_note(r: dict[str, Any], gold: bool) -> str:
    judge = r.get("judge")
    rm = "" if gold else "Reward and win rates: the trained reward model judges (the data has no gold reward). "
    if not judge:
        return rm + "No pairwise judge (judge: none, or the reward model already judges every win rate)."
    agreement = ("; agreement: how often it prefers what the gold reward prefers, over the pairs the gold reward "
                 "does not tie") if gold else ""
    return (f"{rm}Judge: {judge['kind']} ({judge['path']}), each method's sample against the SFT sample of the "
            f"same prompt and draw (a tie counts one half){agreement}.")


def plot_frontier(r: dict[str, Any], path: Path) -> None:
    """Reward against KL to SFT, one curve per method over its KL strength; error bars only with 2+ seeds.

    Each curve's end points are labelled with their KL strength; labels are placed after the axes are
    final, each where it overlaps no label placed before it.
    """
    from rlsuite.common.plotting import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.8))
    seeds = 1
    colors = plt.get_cmap("tab10").colors
    labels: list[tuple[float, float, str, Any]] = []
    for i, (method, pts) in enumerate(r["frontier"].items()):
        if not pts:
            continue
        pts = sorted(pts, key=lambda p: p["kl"])
        seeds = max(seeds, pts[0]["seeds"])
        err = pts[0]["seeds"] > 1
        xs, ys = [p["kl"] for p in pts], [p["reward"] for p in pts]
        ax.errorbar(xs, ys, xerr=[p["kl_err"] for p in pts] if err else None,
                    yerr=[p["reward_err"] for p in pts] if err else None,
                    fmt="o-", ms=4, lw=1.2, capsize=2 if err else 0, color=colors[i % 10],
                    label=f"{method} (numbers: {strength_name(r, method)})")
        ends = (pts[0], pts[-1]) if len(pts) > 1 else (pts[0],)
        labels += [(p["kl"], p["reward"], f"{p['kl_strength']:g}", colors[i % 10]) for p in ends]
    sft = r["methods"].get("SFT")
    if sft:
        ax.errorbar([0.0], [sft["reward"]], yerr=[sft["reward_sem"]], fmt="s", color="k", capsize=2,
                    label="SFT (error bar: SE over samples)")
    gold = r["reward_kind"].startswith("gold")
    ax.set_xlabel("KL(π ‖ π_SFT) per completion, nats (Monte Carlo)")
    ax.set_ylabel("gold reward (#positive − #negative words)" if gold else "reward-model score (judge)")
    note = f"error bars: SE over {seeds} seeds" if seeds > 1 else "one seed: no error bars"
    ax.set_title(f"Reward vs KL to the SFT policy ({note}; numbers at the ends: KL strength)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)  # outside: covers no data
    fig.tight_layout()
    place_labels(ax, labels)
    save_figure(fig, path)


def strength_name(r: dict[str, Any], method: str) -> str:
    """What a frontier method's KL strength is (``beta``, ``KL coef``), from its table row."""
    return str(r["methods"].get(method, {}).get("strength_name", "KL strength"))


def place_labels(ax: Any, labels: list[tuple[float, float, str, Any]]) -> list[Any]:
    """Annotate points ``(x, y, text, color)`` near their points: each label tries spots on rings around its
    point (the nearest first) and takes the first inside the axes that overlaps no label placed before it
    and no data marker; a spot off the first ring gets a thin leader line back to its point. A label that
    finds no clear spot takes the least crowded one inside the axes (over markers rather than labels)."""
    import math

    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    markers = [ax.transData.transform((x, y)) for x, y, _, _ in labels]
    markers += [ax.transData.transform(xy) for line in ax.get_lines() for xy in line.get_xydata()]
    rings = [(r, a) for r in (7, 16, 28) for a in range(0, 360, 45)]
    boxes: list[Any] = []
    placed = []
    for x, y, text, color in labels:
        best: tuple[int, Any, Any] | None = None
        for radius, angle in rings:
            dx, dy = radius * math.cos(math.radians(angle)), radius * math.sin(math.radians(angle))
            ha = "left" if dx > 1 else "right" if dx < -1 else "center"
            va = "bottom" if dy > 1 else "top" if dy < -1 else "center"
            leader = {"arrowstyle": "-", "lw": 0.5, "color": color, "shrinkA": 0, "shrinkB": 3} if radius > 7 else None
            # the label's own box, measured without its leader (which runs back over the nearer spots and ends
            # at the point's own marker: measured with it, no spot off the first ring would ever be clear)
            trial = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=7, ha=ha, va=va)
            box = trial.get_window_extent(renderer).expanded(1.1, 1.2)
            trial.remove()
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            clashes = 100 * sum(box.overlaps(other) for other in boxes) + sum(  # labels over labels: worst
                box.x0 - 2 <= mx <= box.x1 + 2 and box.y0 - 2 <= my <= box.y1 + 2 for mx, my in markers
            )
            if inside and (best is None or clashes < best[0]):  # a clear spot, else the least crowded one
                best = (clashes, (dx, dy, ha, va, leader), box)
                if clashes == 0:
                    break
        assert best is not None, "the axes are too small for a label"
        dx, dy, ha, va, leader = best[1]
        placed.append(ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=7, color=color,
                                  ha=ha, va=va, arrowprops=leader))  # fmt: skip
        boxes.append(best[2])
    return placed
